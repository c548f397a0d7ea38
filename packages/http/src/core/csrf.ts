import { ownOrigin } from './client-address.js';
import type { NormalizedOptions } from './options.js';
import type { EndpointRequest } from './request.js';

/**
 * CSRF defence for every state-changing endpoint, on top of the cookie's
 * SameSite=Strict:
 * 1. the custom header (`X-JWT-Session: 1`): a cross-site form cannot send
 *    one, and a cross-site fetch that does needs a CORS preflight this package
 *    never grants;
 * 2. `Origin` must be the request's own origin or an allowed one; browsers
 *    send it on every POST and DELETE. `null` (sandboxed frames, privacy
 *    redirects) is never allowed;
 * 3. without `Origin`, `Sec-Fetch-Site` must be `same-origin`;
 * 4. with neither, the request is not from a browser: accepted unless
 *    `requireOrigin` is set.
 * Returns whether the request passes.
 */
export function passesCsrf(req: EndpointRequest, options: NormalizedOptions): boolean {
  if (req.headers[options.csrfHeader] !== '1') return false;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== '') {
    if (origin === 'null') return false;
    if (origin.toLowerCase() === ownOrigin(req, options.trustProxy)) return true;
    try {
      return options.allowedOrigins(origin);
    } catch {
      return false;
    }
  }
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== '') return site === 'same-origin';
  return !options.requireOrigin;
}

import { checkBoundRequest, type AccessTokenClaims } from '@jwt-session/session-core';
import { countAuthorization } from './authorization.js';
import { requestHtu } from './dpop.js';
import { codeOf, type HttpErrorCode } from './errors.js';
import type { NormalizedOptions, SessionManagerLike } from './options.js';
import type { EndpointRequest } from './request.js';

/** RFC 6750 b64token after "Bearer ", or after "DPoP " (RFC 9449 §7.1, the same token68 syntax). */
const BEARER = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^(?:Bearer|DPoP)(?: |$)/i;

/**
 * The verified claims of the request's `Authorization: Bearer` (or `DPoP`)
 * token, or the code to refuse it with (and what was thrown, for `onError`).
 * A token bound to a DPoP key (`cnf.jkt`) passes only under the DPoP scheme
 * with a proof for this request by that key (RFC 9449 §7.1, `checkBoundRequest`):
 * a copied bound token cannot call these endpoints.
 */
export async function authenticate(
  req: EndpointRequest,
  manager: SessionManagerLike,
  options?: Pick<NormalizedOptions, 'dpop' | 'trustProxy'>,
): Promise<{ claims: AccessTokenClaims } | { code: HttpErrorCode; error?: unknown }> {
  // Node keeps only the first of repeated Authorization headers; a proxy and the app disagreeing on which one counts is an attack surface.
  if (countAuthorization(req.rawHeaders) > 1) return { code: 'ERR_AUTH_HEADER_MALFORMED' };
  const header = req.headers.authorization;
  if (header === undefined || header === '' || !SCHEME.test(header)) return { code: 'ERR_AUTH_TOKEN_REQUIRED' };
  const match = BEARER.exec(header);
  if (match === null) return { code: 'ERR_AUTH_HEADER_MALFORMED' };
  try {
    const accessToken = match[2]!;
    const claims = await manager.read(accessToken);
    const dpop = options?.dpop;
    // Cheap for an unbound token outside `required`: no proof is looked at.
    if (claims.cnf !== undefined || dpop?.required === true) {
      // The URL matters only for a bound token (an unbound one is refused as such when required).
      const url = claims.cnf === undefined ? '' : requestHtu(dpop?.publicOrigin, req, req.url, options?.trustProxy ?? false);
      await checkBoundRequest({ claims, accessToken, scheme: match[1], proof: req.headers.dpop, method: req.method, url, replayCache: dpop?.replayCache, nonce: dpop?.nonces, algorithms: dpop?.algorithms, required: dpop?.required });
    }
    return { claims };
  } catch (error) {
    return { code: codeOf(error), error };
  }
}

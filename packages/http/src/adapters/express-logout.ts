import type { IncomingMessage, ServerResponse } from 'node:http';
import { BackchannelLogoutEndpoint, type BackchannelLogoutOptions, type UpstreamRevoker } from '../core/backchannel-logout.js';
import { writeNodeResponse } from '../core/write.js';
import { readBody } from './node-body.js';

export interface BackchannelLogoutMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  readonly endpoint: BackchannelLogoutEndpoint;
}

/**
 * The back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0)
 * as an Express (or connect) middleware: `POST {path}` with a form body
 * `logout_token=…`. Answers 200 when the sessions the token names are ended
 * on every node, 400 `{"error":"invalid_request"}` for a token that fails a
 * rule, 413 for a body over `maxBodyBytes`, 503 when the store could not
 * confirm the revocation (the provider retries); always `Cache-Control:
 * no-store`. Other requests go on to `next()`. Throws ERR_CONFIG_INVALID at
 * once for a bad option.
 *
 * @example
 * ```ts
 * app.use(backchannelLogout(manager, {
 *   path: '/auth/backchannel-logout',
 *   verifier: { providers: [{ issuer: 'https://idp.example.com', clientId: 'my-app' }], replayCache },
 * }));
 * ```
 */
export function backchannelLogout(manager: UpstreamRevoker, options: BackchannelLogoutOptions): BackchannelLogoutMiddleware {
  const endpoint = new BackchannelLogoutEndpoint(manager, options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const query = url.indexOf('?');
    if (req.method !== 'POST' || (query < 0 ? url : url.slice(0, query)) !== endpoint.path) return next();
    readBody(req, endpoint.maxBodyBytes)
      .then((body) => endpoint.handle(req.headers['content-type'], body).then((response) => ({ response, body })))
      .then(({ response, body }) => {
        if (body !== undefined && 'tooLarge' in body) res.setHeader('connection', 'close');
        writeNodeResponse(res, response);
      })
      .catch(next);
  };
  return Object.assign(middleware, { endpoint });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { SecurityEventsEndpoint, type SecurityEventsOptions } from '../core/security-events.js';
import type { UpstreamRevoker } from '../core/backchannel-logout.js';
import { writeNodeResponse } from '../core/write.js';
import { readBody } from './node-body.js';

export interface SecurityEventsMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  readonly endpoint: SecurityEventsEndpoint;
}

/**
 * The Shared Signals push endpoint (RFC 8935) as an Express (or connect)
 * middleware: `POST {path}` with one SET as `application/secevent+jwt`.
 * 202 when accepted, 400 `{ err, description }` with RFC 8935's codes, 413
 * over `maxBodyBytes`, 503 when the store could not confirm; always
 * `Cache-Control: no-store`. Other requests go on to `next()`.
 *
 * @example
 * ```ts
 * app.use(securityEvents(manager, {
 *   path: '/auth/security-events',
 *   receiver: { transmitters: [{ issuer: 'https://idp.example.com', audience: 'https://app.example.com' }], replayCache },
 * }));
 * ```
 */
export function securityEvents(manager: UpstreamRevoker, options: SecurityEventsOptions): SecurityEventsMiddleware {
  const endpoint = new SecurityEventsEndpoint(manager, options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const query = url.indexOf('?');
    if (req.method !== 'POST' || (query < 0 ? url : url.slice(0, query)) !== endpoint.path) return next();
    readBody(req, endpoint.maxBodyBytes)
      .then(async (body) => {
        const response = await endpoint.handle(req.headers['content-type'], body);
        if (body !== undefined && 'tooLarge' in body) res.setHeader('connection', 'close');
        writeNodeResponse(res, response);
      })
      .catch(next);
  };
  return Object.assign(middleware, { endpoint });
}

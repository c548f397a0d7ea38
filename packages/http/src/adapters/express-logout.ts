import type { IncomingMessage, ServerResponse } from 'node:http';
import { BackchannelLogoutEndpoint, type BackchannelLogoutOptions, type LogoutBody, type UpstreamRevoker } from '../core/backchannel-logout.js';
import { writeNodeResponse } from '../core/write.js';

/**
 * Reads a Node request's body up to `max` bytes. Past it, stops reading and
 * reports it (the answer is 413, and the connection closes after it rather
 * than draining an attacker's upload). A body a parser already read
 * (`express.urlencoded()` before this middleware) is taken from `req.body`.
 */
function readBody(req: IncomingMessage, max: number): Promise<LogoutBody> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    // Already parsed: rebuilt as form text so the one-parameter rule is checked the same way.
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') params.append(name, one);
    }
    return Promise.resolve({ text: params.toString() });
  }
  if (req.readableEnded) return Promise.resolve(undefined);
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: LogoutBody) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        finish({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish({ text: Buffer.concat(chunks).toString('utf8') }));
    req.once('error', () => finish(undefined));
    req.once('close', () => finish(undefined));
  });
}

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

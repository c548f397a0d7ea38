import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionEndpoints, type IssueSessionOptions, type ReauthenticateSessionOptions, type ReauthenticationCheck, type SessionBody } from '../core/endpoints.js';
import type { SessionEndpointsOptions, SessionManagerLike } from '../core/options.js';
import { fromNodeRequest } from '../core/request.js';
import { writeNodeResponse } from '../core/write.js';

/**
 * The session endpoints as one Express (or connect) middleware, plus the
 * sign-in helper bound to the same options. Typed on Node's own request and
 * response, which Express's extend, so no framework types are needed.
 */
export interface SessionRouter {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /**
   * For the application's sign-in route, once it has verified the user:
   * creates the session, sets the refresh cookie and answers 200 with the same
   * body as refresh (or the error answer). Resolves to that body, or
   * `undefined` when it answered an error (403 ERR_CSRF, 503 …).
   */
  issueSession(req: IncomingMessage, res: ServerResponse, subject: string, options?: IssueSessionOptions): Promise<SessionBody | undefined>;
  /**
   * For the application's `POST {base}/reauthenticate` route: `check` verifies
   * the credential again for the access token's subject; the session is then
   * stamped fresh, rotated, and answered like refresh (200, cookie, body).
   * Resolves to that body, or `undefined` when it answered an error
   * (401 ERR_CREDENTIALS_INVALID, 403 ERR_CSRF …).
   */
  reauthenticateSession(req: IncomingMessage, res: ServerResponse, check: ReauthenticationCheck, options?: ReauthenticateSessionOptions): Promise<SessionBody | undefined>;
}

/**
 * Mounts `POST {base}/refresh`, `/signout`, `/signout-everywhere`,
 * `GET {base}/sessions`, `DELETE {base}/sessions/:sessionId` and
 * `POST {base}/sessions/revoke-others`. `basePath` is the full public path
 * (the cookie's `Path` comes from it), wherever the router is mounted;
 * `app.use(router)` is the usual way.
 * Other requests, including CORS preflights, go on to `next()`.
 * Throws ERR_CONFIG_INVALID at once for a missing manager or a bad option.
 *
 * @example
 * ```ts
 * const sessions = sessionRouter(manager, { basePath: '/auth' });
 * app.use(sessions);
 * app.post('/login', express.json(), async (req, res) => {
 *   const user = await users.verify(req.body.username, req.body.password);
 *   if (!user) return void res.status(401).json({ error: 'ERR_BAD_CREDENTIALS' });
 *   await sessions.issueSession(req, res, user.id, { claims: { name: user.name } });
 * });
 * ```
 */
export function sessionRouter(manager: SessionManagerLike, options?: SessionEndpointsOptions): SessionRouter {
  const endpoints = new SessionEndpoints(manager, options);
  const router = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    // The full path, wherever the router is mounted: basePath is the public path, and the cookie's Path with it.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const query = url.indexOf('?');
    const match = endpoints.match(req.method ?? 'GET', query < 0 ? url : url.slice(0, query));
    if (match === undefined) return next();
    // handle() does not reject; the catch is for the write, which throws
    // ERR_HTTP_HEADERS_SENT when an earlier middleware already answered.
    // Left uncaught, that rejection would take the process down.
    endpoints
      .handle(match.route, fromNodeRequest(req), match.sessionId)
      .then((response) => writeNodeResponse(res, response))
      .catch(next);
  };
  return Object.assign(router, {
    async issueSession(req: IncomingMessage, res: ServerResponse, subject: string, issueOptions?: IssueSessionOptions): Promise<SessionBody | undefined> {
      const { response, body } = await endpoints.issue(fromNodeRequest(req), subject, issueOptions);
      writeNodeResponse(res, response);
      return body;
    },
    async reauthenticateSession(req: IncomingMessage, res: ServerResponse, check: ReauthenticationCheck, reauthOptions?: ReauthenticateSessionOptions): Promise<SessionBody | undefined> {
      const { response, body } = await endpoints.reauthenticate(fromNodeRequest(req), check, reauthOptions);
      writeNodeResponse(res, response);
      return body;
    },
  });
}

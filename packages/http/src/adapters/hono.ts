import type { Context, MiddlewareHandler } from 'hono';
import type { ConnInfo } from 'hono/conninfo';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { SessionEndpoints, type IssueSessionOptions, type ReauthenticateSessionOptions, type ReauthenticationCheck } from '../core/endpoints.js';
import { SessionHttpError } from '../core/errors.js';
import { configChecked, type SessionEndpointsOptions, type SessionManagerLike } from '../core/options.js';
import { fromWebRequest, type EndpointResponse } from '../core/request.js';

export interface HonoSessionRoutesOptions extends SessionEndpointsOptions {
  /**
   * The runtime's `getConnInfo` (`@hono/node-server/conninfo`, `hono/bun`,
   * `hono/deno`, `hono/cloudflare-workers`): the client's address recorded
   * with the session. A Web Request does not carry it.
   * @default none: no address, unless `trustProxy` believes X-Forwarded-For
   */
  getConnInfo?: (c: Context) => ConnInfo;
}

/** The endpoints as one Hono middleware, plus the sign-in helper bound to the same options. */
export interface HonoSessionRoutes extends MiddlewareHandler {
  /**
   * For the application's sign-in route, once it has verified the user:
   * creates the session and answers like refresh (200, the refresh cookie and
   * the session body), or with the error answer (403 ERR_CSRF, 503 …).
   */
  issueSession(c: Context, subject: string, options?: IssueSessionOptions): Promise<Response>;
  /** For the application's `POST {base}/reauthenticate` route: `check` verifies the credential again; answers like refresh, or with the error answer. */
  reauthenticateSession(c: Context, check: ReauthenticationCheck, options?: ReauthenticateSessionOptions): Promise<Response>;
}


/** Answers through the context, so headers the app set earlier (another Set-Cookie) stay. */
function send(c: Context, response: EndpointResponse): Response {
  for (const [name, value] of Object.entries(response.headers)) c.header(name, value);
  if (response.setCookie !== undefined) c.header('set-cookie', response.setCookie, { append: true });
  // The core answers only the statuses it knows (200, 204, 4xx, 5xx); Hono types a body's status apart from 204's.
  return response.body === undefined ? c.body(null, response.status as ContentfulStatusCode) : c.body(response.body, response.status as ContentfulStatusCode);
}

/**
 * The session endpoints on Hono, on the same core as `sessionRouter`: the
 * routes under `basePath` (the full public path, wherever the middleware is
 * used), everything else goes on to `next()`. Web APIs only: Node, Bun, Deno
 * and Workers alike. Throws ERR_CONFIG_INVALID at once for a missing manager
 * or a bad option.
 *
 * @example
 * const sessions = honoSessionRoutes(manager, { basePath: '/auth' });
 * app.use(sessions);
 * app.post('/login', async (c) => sessions.issueSession(c, (await users.verify(c)).id));
 */
export function honoSessionRoutes(manager: SessionManagerLike, options?: HonoSessionRoutesOptions): HonoSessionRoutes {
  const { getConnInfo, endpointOptions } = configChecked(() => {
    const { getConnInfo, ...endpointOptions } = options ?? {};
    if (getConnInfo !== undefined && typeof getConnInfo !== 'function') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options.getConnInfo must be a function');
    return { getConnInfo, endpointOptions: options === undefined ? undefined : endpointOptions };
  });
  const endpoints = new SessionEndpoints(manager, endpointOptions);
  const request = (c: Context) => {
    let address: string | undefined;
    try {
      address = getConnInfo?.(c).remote.address;
    } catch {
      // A runtime without the information (or the wrong helper for this runtime): no address, as without getConnInfo.
    }
    return fromWebRequest(c.req.raw, address);
  };
  const middleware: MiddlewareHandler = async (c, next) => {
    // The raw (percent-encoded) path, as the Express router matches it.
    const match = endpoints.match(c.req.method, new URL(c.req.url).pathname);
    if (match === undefined) return next();
    return send(c, await endpoints.handle(match.route, request(c), match.sessionId));
  };
  return Object.assign(middleware, {
    async issueSession(c: Context, subject: string, issueOptions?: IssueSessionOptions): Promise<Response> {
      return send(c, (await endpoints.issue(request(c), subject, issueOptions)).response);
    },
    async reauthenticateSession(c: Context, check: ReauthenticationCheck, reauthOptions?: ReauthenticateSessionOptions): Promise<Response> {
      return send(c, (await endpoints.reauthenticate(request(c), check, reauthOptions)).response);
    },
  });
}

import type { SessionVerifier } from '@jwt-session/session-core';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ProvisionedUser } from './authenticate.js';
import { AuthError } from './errors.js';
import type { GetToken, HttpAuthOptions, HttpRequestLike } from './http-auth.js';
import { httpAuthenticator } from './http-authenticator.js';

import type { SessionAuthEnv } from './hono-env.js';

export type { SessionAuthEnv } from './hono-env.js';

export interface HonoSessionAuthOptions<User extends ProvisionedUser = ProvisionedUser> extends Omit<HttpAuthOptions<User>, 'getToken'> {
  /** The request's network, for the manager's `drift: 'refresh'` (as httpAuth's `network`): Hono knows the client's address through its runtime (`getConnInfo(c)`). @default none */
  network?: (c: Context) => string;
  /** Finds the token yourself (replaces the Authorization header and cookie sources). @default none */
  getToken?: GetToken<Context>;
}

type Status = NonNullable<ConstructorParameters<typeof HTTPException>[0]>;

/**
 * A Web Request as the core reads one. Fetch joins a repeated header into one
 * value (", "), so two Authorization headers arrive as one that is not a
 * single "Bearer <token>": refused as malformed, as on Node.
 */
function fromWebRequest(request: Request): HttpRequestLike {
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  request.headers.forEach((value, name) => {
    headers[name] = value;
    rawHeaders.push(name, value);
  });
  // The target and the scheme, for a DPoP proof's `htu` (behind a proxy, `dpop.publicOrigin`): cut out of the
  // absolute URL a Web Request carries, without parsing it, so that requests with unbound tokens pay nothing.
  const href = request.url;
  const path = href.indexOf('/', href.indexOf('//') + 2);
  return { method: request.method, headers, rawHeaders, url: path < 0 ? '/' : href.slice(path), socket: { encrypted: href.startsWith('https:') } };
}

/**
 * Hono middleware on the same core as `httpAuth`: the same options, codes and
 * RFC 6750 challenges. Sets `c.get('auth')`, or throws an `HTTPException`
 * (as `hono/jwt` does) whose response is the challenge with the JSON body
 * `{ error: code, message }`, and whose `cause` is the {@link AuthError}:
 * Hono answers it as is, or the app's `onError` maps it. Web APIs only, so the
 * same middleware runs on Node, Bun, Deno and Workers.
 *
 * @example
 * import { honoSessionAuth, type SessionAuthEnv } from '@jwt-session/socketio-adapter/hono';
 * const app = new Hono<SessionAuthEnv>();
 * app.use('/api/*', honoSessionAuth(manager, { realm: 'api' }));
 * app.get('/api/me', (c) => c.json({ userId: c.get('auth')?.userId }));
 */
export function honoSessionAuth<User extends ProvisionedUser = ProvisionedUser>(
  manager: SessionVerifier,
  options: HonoSessionAuthOptions<User> = {},
): MiddlewareHandler<SessionAuthEnv<User>> {
  const authenticate = httpAuthenticator<User>('honoSessionAuth', manager, options);
  const { getToken, network } = options;
  return async (c, next) => {
    const result = await authenticate(fromWebRequest(c.req.raw), getToken === undefined ? undefined : () => getToken(c), network === undefined ? undefined : () => network(c));
    if (result !== undefined && 'failure' in result) {
      const { status, headers, body } = result.failure;
      const res = new Response(JSON.stringify(body), { status, headers });
      throw new HTTPException(status as Status, { res, message: body.message, cause: new AuthError(body.error) });
    }
    c.set('auth', result?.auth);
    await next();
  };
}
export { honoRequireFresh } from './fresh-hono.js';

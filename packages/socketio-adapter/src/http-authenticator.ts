import type { SessionVerifier } from '@jwt-session/session-core';
import type { AuthContext, ProvisionedUser } from './authenticate.js';
import { HttpRefusal, httpCheck, type GetToken, type HttpAuthOptions, type HttpFailure, type HttpOutcome, type HttpRequestLike } from './http-auth.js';
import { checkHttpOptions, checkVerifier } from './options.js';

/** What a request comes to: its context, the answer that refuses it, or `undefined` ("through without auth": a preflight, or no token with `credentialsRequired: false`). */
export type HttpAuthResult<User extends ProvisionedUser = ProvisionedUser> = { auth: AuthContext<User> } | { failure: HttpFailure } | undefined;

/** Verifies one request; `getToken` (the framework's own request in a closure) replaces the header and cookie sources. Never rejects. */
export type HttpAuthenticator<User extends ProvisionedUser = ProvisionedUser> = (req: HttpRequestLike, getToken?: GetToken<HttpRequestLike>) => Promise<HttpAuthResult<User>>;

/**
 * The core of `httpAuth`, for a framework adapter (the Hono middleware,
 * `@jwt-session/nestjs`'s guard): checks the manager and the options once,
 * here, and refuses an option it does not know (`extra`: names the adapter
 * takes itself), each as ERR_CONFIG_INVALID starting with `name`. The adapter
 * then only translates its request in and the result out.
 */
export function httpAuthenticator<User extends ProvisionedUser = ProvisionedUser>(
  name: string,
  manager: SessionVerifier,
  options: Omit<HttpAuthOptions<User>, 'getToken'> = {},
  extra: readonly string[] = [],
): HttpAuthenticator<User> {
  checkVerifier(name, 'manager', manager);
  checkHttpOptions(name, options, extra);
  const { getToken: _framework, ...httpOptions } = options as HttpAuthOptions<User> & Record<string, unknown>;
  // The framework's getToken comes per request (a closure over its own request object): the check calls it.
  const fromHeaders = httpCheck<User, HttpRequestLike, HttpRequestLike>(manager, httpOptions, undefined);
  const fromClosure = httpCheck<User, HttpRequestLike, () => ReturnType<GetToken<HttpRequestLike>>>(manager, httpOptions, (get) => get());
  return async (req, getToken) => resultOf(await (getToken === undefined ? fromHeaders(req, req) : fromClosure(req, () => getToken(req))));
}

function resultOf<User extends ProvisionedUser>(outcome: HttpOutcome<User>): HttpAuthResult<User> {
  if (outcome === undefined) return undefined;
  return outcome instanceof HttpRefusal ? { failure: outcome.failure } : { auth: outcome };
}

import type { SessionVerifier } from '@jwt-session/session-core';
import type { AuthContext, ProvisionedUser } from './authenticate.js';
import { HttpRefusal, httpCheck, type GetToken, type HttpAuthOptions, type HttpFailure, type HttpOutcome, type HttpRequestLike } from './http-auth.js';
import { checkHttpOptions, checkVerifier } from './options.js';
import { networkCheck } from './network.js';

/** What a request comes to: its context, the answer that refuses it, or `undefined` ("through without auth": a preflight, or no token with `credentialsRequired: false`). */
export type HttpAuthResult<User extends ProvisionedUser = ProvisionedUser> = { auth: AuthContext<User> } | { failure: HttpFailure } | undefined;

/** Verifies one request; `getToken` (the framework's own request in a closure) replaces the header and cookie sources. Never rejects. */
export type HttpAuthenticator<User extends ProvisionedUser = ProvisionedUser> = (req: HttpRequestLike, getToken?: GetToken<HttpRequestLike>, network?: () => string) => Promise<HttpAuthResult<User>>;

/** One request as the checks see it: the token source and the network (the framework's own request in closures). */
interface Call {
  req: HttpRequestLike;
  getToken?: (() => ReturnType<GetToken<HttpRequestLike>>) | undefined;
  network?: (() => string) | undefined;
}

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
  const { getToken: _framework, network: frameworkNetwork, ...httpOptions } = options as HttpAuthOptions<User> & Record<string, unknown>;
  // The framework's getToken and network come per request (closures over its own request object): the checks call them.
  const network = networkCheck<Call>(name, manager, frameworkNetwork === undefined ? undefined : (call: Call) => call.network!());
  const fromHeaders = httpCheck<User, HttpRequestLike, Call>(manager, httpOptions, undefined, network);
  const fromClosure = httpCheck<User, HttpRequestLike, Call>(manager, httpOptions, (call) => call.getToken!(), network);
  return async (req, getToken, networkOf) => {
    const call: Call = { req, getToken: getToken === undefined ? undefined : () => getToken(req), network: networkOf ?? (() => (frameworkNetwork as (r: HttpRequestLike) => string)(req)) };
    return resultOf(await (getToken === undefined ? fromHeaders(req, call) : fromClosure(req, call)));
  };
}

function resultOf<User extends ProvisionedUser>(outcome: HttpOutcome<User>): HttpAuthResult<User> {
  if (outcome === undefined) return undefined;
  return outcome instanceof HttpRefusal ? { failure: outcome.failure } : { auth: outcome };
}

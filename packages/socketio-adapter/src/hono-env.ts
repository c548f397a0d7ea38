import type { AuthContext, ProvisionedUser } from './authenticate.js';

/**
 * What `honoSessionAuth` puts on the context: `new Hono<SessionAuthEnv>()`,
 * then `c.get('auth')` (the same shape as Express's `req.auth`; undefined for
 * a preflight, or without a token under `credentialsRequired: false`). Its own
 * module: the Hono guards (hono.ts, fresh-hono.ts) both read it.
 */
export interface SessionAuthEnv<User extends ProvisionedUser = ProvisionedUser> {
  Variables: { auth: AuthContext<User> | undefined };
}

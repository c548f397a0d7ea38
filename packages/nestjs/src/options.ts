import type { SessionVerifier } from '@jwt-session/session-core';
import type { HttpAuthOptions, ProvisionedUser } from '@jwt-session/socketio-adapter';

/**
 * `JwtSessionModule.forRoot(...)`'s options: the verifier and `httpAuth`'s
 * options (same meaning, same codes). Any other name is refused when the app
 * starts, with ERR_CONFIG_INVALID naming it.
 */
export interface JwtSessionModuleOptions<User extends ProvisionedUser = ProvisionedUser> extends Omit<HttpAuthOptions<User>, 'getToken'> {
  /** Any `SessionVerifier`: a `JwtUserSessionManager`, or a `JwtSessionVerifier` on a resource server. */
  manager: SessionVerifier;
}

import { SessionError, storageError } from './errors.js';
import { authenticationOf, type AuthenticationInput, type StoredAuthentication } from './freshness.js';
import type { DpopRefresh } from './dpop/binding.js';
import { checkSubject } from './lib/claims.js';
import { isSessionIdOf, newTokenId } from './lib/ids.js';
import type { RefreshTokenStore } from './storage.js';

/*
 * `manager.reauthenticate`: the app has checked a credential again (a
 * password, a second factor) for a session that already exists, and the
 * session is stamped with the new authentication in the same atomic step that
 * rotates its refresh token (the store's rotate, merging the stamp into the
 * session's context: freshness.ts). The stamp needs the session's current
 * refresh token: the store matches hashes only, so no rotation is possible
 * without it, and the holder of an access token alone cannot refresh a
 * session by re-entering a password.
 */

export interface ReauthenticateOptions extends AuthenticationInput {
  /** The session's current refresh token (the refresh cookie): it is rotated, and dies. */
  refreshToken: string;
  /** The key a bound session's refresh comes with, as for `update` (the session keeps its binding). */
  dpop?: DpopRefresh | undefined;
}

/** What the manager's rotation needs from a checked reauthenticate() call. */
export interface Reauthentication {
  refreshToken: string;
  dpop: unknown;
  /** The session the refresh token must belong to. */
  sessionId: string;
  stamp: StoredAuthentication;
}

function unknownSession(): SessionError {
  return new SessionError('ERR_REFRESH_TOKEN_INVALID', undefined, undefined, 'unknown_session');
}

/**
 * Checks a reauthenticate() call before anything is rotated: the input, then
 * that `sessionId` is one of `subject`'s live sessions in the store (the
 * rotation alone cannot tell: a session id's hash tag is too short to stand
 * for its subject, and a stamp for the wrong subject — a password checked for
 * one account, applied to another's stolen session — is the hole this
 * closes), and not revoked on this node.
 */
export async function checkReauthentication(
  subject: string,
  sessionId: string,
  options: ReauthenticateOptions,
  deps: { store: RefreshTokenStore; now: number; tolerance: number; revokedBy: (claims: { sub: string; sid: string; jti: string }) => 'session_revoked' | 'subject_revoked' | undefined },
): Promise<Reauthentication> {
  checkSubject(subject);
  if (typeof sessionId !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'sessionId must be a string', undefined, 'session_id');
  if (options === null || typeof options !== 'object') throw new SessionError('ERR_CLAIMS_INVALID', 'options must be an object', undefined, 'input');
  let raw: { refreshToken: unknown; dpop: unknown; authTime: unknown; amr: unknown; acr: unknown };
  try {
    const { refreshToken, dpop, authTime, amr, acr } = options;
    raw = { refreshToken, dpop, authTime, amr, acr };
  } catch {
    throw new SessionError('ERR_CLAIMS_INVALID', 'options could not be read', undefined, 'input');
  }
  if (typeof raw.refreshToken !== 'string') throw new SessionError('ERR_REFRESH_TOKEN_INVALID', undefined, undefined, 'format');
  const stamp = authenticationOf(raw, deps.now, deps.tolerance);
  if (!isSessionIdOf(sessionId, subject)) throw unknownSession();
  // The later of this node's revocations: one seen here holds even if the store has not caught up.
  const revoked = deps.revokedBy({ sub: subject, sid: sessionId, jti: newTokenId(deps.now) });
  if (revoked !== undefined) throw new SessionError('ERR_SESSION_REVOKED', undefined, undefined, revoked);
  let live;
  try {
    live = await deps.store.list(subject, deps.now);
  } catch (error) {
    throw storageError('reauthenticate', error);
  }
  if (!live.some((s) => s.sessionId === sessionId)) throw unknownSession();
  return { refreshToken: raw.refreshToken, dpop: raw.dpop, sessionId, stamp };
}

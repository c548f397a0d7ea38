import type { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, SessionEventListener } from './events.js';
import type { AccessTokenClaims } from './types.js';

/** The events a {@link SessionVerifier} announces revocations with. */
export type RevocationEventName = typeof SESSION_INVALIDATED | typeof ALL_SESSIONS_INVALIDATED;

/**
 * What a guard needs to verify access tokens and hear about revocations: the
 * part of `JwtUserSessionManager` that does not touch the refresh-token store.
 * The Socket.IO and HTTP guards depend on this, not on the manager class, so
 * anything implementing it (a verifier for resource servers) can stand in.
 */
export interface SessionVerifier {
  /** Verifies an access token (signature, claims, revocation) and returns its claims; throws a `SessionError`. */
  read(accessToken: string): Promise<AccessTokenClaims>;
  /**
   * Optional: `read()` answered synchronously, for a verifier that never
   * needs I/O to answer (`JwtUserSessionManager`). Same checks and errors,
   * thrown. The HTTP guards call it instead of `read()` when it is there.
   */
  readSync?(accessToken: string): AccessTokenClaims;
  /** Whether claims `read()` returned earlier have been revoked since: synchronous, no signature check. */
  isRevoked(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'jti'>): boolean;
  on<E extends RevocationEventName>(event: E, listener: SessionEventListener<E>): unknown;
  off<E extends RevocationEventName>(event: E, listener: SessionEventListener<E>): unknown;
}

import type { DpopBinding, DpopRefresh } from './dpop/binding.js';
import type { UpstreamIdentity } from './upstream/types.js';

/** JSON values, as stored with a session and carried in claims. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What the application knows about the client that opened a session. Stored
 * with the session and returned by `readAll`, so a user can tell sessions apart.
 */
export interface SessionContext {
  ip?: string;
  userAgent?: string;
  device?: string;
  location?: string;
  [key: string]: JsonValue | undefined;
}

/** Times are Unix seconds, like the `exp` of a JWT. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
}

/** The verified payload of an access token. Frozen: it may be shared between callers. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly sub: string;
  /** The session id. */
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly [claim: string]: unknown;
}

/** A live session as `readAll` lists it. Times are Unix seconds. Holds nothing a refresh token can be derived from. */
export interface SessionInfo {
  sessionId: string;
  subject: string;
  createdAt: number;
  lastRefreshedAt: number;
  expiresAt: number;
  context: SessionContext;
  /** The DPoP key the session is bound to (its RFC 7638 thumbprint); absent for an unbound session. */
  dpop?: { jkt: string };
  /** The identity provider's session and user the session was opened for (`create({ upstream })`): which provider it came from. */
  upstream?: UpstreamIdentity;
}

export interface CreateOptions {
  /** Extra claims for every access token of this session. Registered and library claims are refused. */
  claims?: Record<string, unknown>;
  context?: SessionContext;
  /**
   * Binds the session to the client's DPoP key (RFC 9449 §5): the thumbprint of
   * a proof the caller verified (`verifyDpopProof(...).jkt`). Every access token
   * then carries `cnf: { jkt }` and every refresh needs a proof by that key.
   */
  dpop?: DpopBinding;
  /**
   * Links the session to the identity provider's session and user it was
   * opened for (the ID token's `iss`, `sub` and `sid`), so a logout there
   * ends it: `revokeUpstream`, the back-channel logout endpoint of
   * `@jwt-session/http`. Needs a store with `findUpstream`.
   */
  upstream?: UpstreamIdentity;
}

export interface UpdateOptions {
  /** Replaces the session's extra claims from this access token on. */
  claims?: Record<string, unknown>;
  /** Merged key by key into the session's stored context. */
  context?: SessionContext;
  /** The key the refresh came with (the thumbprint of a proof the caller verified), and whether binding is required. */
  dpop?: DpopRefresh;
}

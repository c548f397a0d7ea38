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
  /** When the user last authenticated in this session (create or reauthenticate), Unix seconds: its creation unless one was recorded. */
  authTime?: number;
  /** How (RFC 8176 method references), as given to create or reauthenticate. */
  amr?: string[];
  /** The authentication context class, as given to create or reauthenticate. */
  acr?: string;
  /** The identity provider's session and user the session was opened for (`create({ upstream })`): which provider it came from. */
  upstream?: UpstreamIdentity;
}

/** What the app says about the client of a create() (or an update(), for drift). */
export interface DeviceInput {
  /** A short description of the device: browser and OS family, an app's name and platform. Not the raw User-Agent: it changes with every browser update. */
  summary: string;
  /**
   * Where the client connects from, coarse: an IPv4 /24 or IPv6 /48 prefix
   * (`203.0.113.0/24`), or the network's ASN (`AS64500`). A whole address
   * would make every mobile handover a new device.
   */
  network: string;
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
   * When the user authenticated, in Unix seconds like every time of this API (the `auth_time` claim, RFC 9068
   * §2.2.1). Every access token of the session carries it, and `amr` and `acr`; a refresh keeps them (it is not
   * an authentication), `reauthenticate` replaces them. Not after now. @default now
   */
  authTime?: number;
  /** How: RFC 8176 method references (`['pwd']`, `['pwd', 'otp']`, `['hwk']`), at most 16 printable ASCII values without spaces or quotes. @default none */
  amr?: readonly string[];
  /** The authentication context class reference (`acr`), printable ASCII without spaces or quotes. @default none */
  acr?: string;
  /** The client's device summary and network, for the manager's `deviceHistory` (the `sessionCreatedOnNewDevice` event) and `drift`. */
  device?: DeviceInput;
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
  /** The client's device summary and network now, for the manager's `drift` policy (compared with the session's). */
  device?: DeviceInput;
}

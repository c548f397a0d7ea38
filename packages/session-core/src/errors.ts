/**
 * Every failure this library reports is a {@link SessionError} with a stable
 * `code`; branch on `code`, never on `message` (messages may be reworded).
 * Messages are fixed per code (see {@link SESSION_ERROR_MESSAGES}): they never
 * contain a token, a refresh secret, a claim, a subject or a header value.
 */
export const SESSION_ERROR_CODES = [
  'ERR_AUTH_TOKEN_INVALID',
  'ERR_AUTH_TOKEN_EXPIRED',
  'ERR_SESSION_REVOKED',
  'ERR_REFRESH_TOKEN_INVALID',
  'ERR_REFRESH_TOKEN_EXPIRED',
  'ERR_REFRESH_TOKEN_REUSED',
  'ERR_STORAGE_UNAVAILABLE',
  'ERR_CLAIMS_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_DPOP_PROOF_INVALID',
  'ERR_DPOP_NONCE_REQUIRED',
  'ERR_DPOP_BINDING_MISMATCH',
  'ERR_AUTH_NOT_FRESH',
] as const;

export type SessionErrorCode = (typeof SESSION_ERROR_CODES)[number];

/** The reasons only a DPoP proof's refusal has (dpop/refusal.ts documents each); the rest it shares with access tokens. */
export const DPOP_ONLY_REASONS = ['too_large', 'multiple_headers', 'jwk', 'private_key', 'jti', 'htm', 'htu', 'iat', 'nonce', 'ath', 'binding', 'replayed'] as const;

/**
 * Why a {@link SessionError} was raised, one step finer than its `code`: for
 * the operator (logs, metrics, the guards' `onError`), never for the caller
 * (HTTP bodies, `connect_error` data and `WWW-Authenticate` carry the code
 * only). Fixed identifiers, never built from input. See the README's table
 * for the code each belongs to.
 */
export const SESSION_ERROR_REASONS = [
  // ERR_AUTH_TOKEN_INVALID: the access token
  'malformed',
  'header',
  'algorithm',
  'unknown_key',
  'signature',
  'type',
  'missing_claim',
  'invalid_claim',
  'issuer',
  'audience',
  'not_yet_valid',
  'issued_in_future',
  // ... and on JwtSessionVerifier only: a key the JWK Set names but jose cannot use (RSA under 2048 bits, a
  // malformed JWK), a lifetime (exp - iat) over maxTokenLifetime, an ID token's claims (nonce, at_hash,
  // c_hash) on a provider's token, a client_id / azp not in allowedClients
  'unusable_key',
  'lifetime',
  'id_token',
  'client',
  // ... and on a back-channel logout token (LogoutTokenVerifier): no `events` with the logout member as an object
  'events',
  // ERR_DPOP_PROOF_INVALID, ERR_DPOP_NONCE_REQUIRED, ERR_DPOP_BINDING_MISMATCH (DPOP_REFUSAL_REASONS, with
  // malformed, header, type, algorithm and signature above; RFC 9449 §4.3)
  ...DPOP_ONLY_REASONS,
  // ERR_AUTH_TOKEN_EXPIRED, ERR_REFRESH_TOKEN_EXPIRED
  'expired',
  // ERR_SESSION_REVOKED
  'session_revoked',
  'subject_revoked',
  // ERR_REFRESH_TOKEN_INVALID
  'format',
  'mac',
  'unknown_session',
  // ERR_REFRESH_TOKEN_INVALID (the 'revoke' drift policy ended the session), ERR_AUTH_TOKEN_INVALID (a guard's
  // network check under the 'refresh' policy): the client's device or network changed within the session
  'drift',
  // ERR_REFRESH_TOKEN_INVALID, ERR_AUTH_TOKEN_INVALID: DPoP is required and the session (the token) is not bound to a key
  'unbound',
  // ERR_REFRESH_TOKEN_EXPIRED
  'idle_timeout',
  // ERR_REFRESH_TOKEN_REUSED: which token was reused (reuse.ts): the one just replaced, after the reuse
  // interval; an older one of the chain; one not behind the current token (the store lost rotations)
  'reused_previous',
  'reused_ancestor',
  'reused_branch',
  // ERR_AUTH_NOT_FRESH (RFC 9470 step-up, freshness.ts): no usable auth_time, an auth_time older than maxAge, an acr not
  // among those asked for, an amr without a method asked for
  'auth_time',
  'stale',
  'acr',
  'amr',
  // ERR_STORAGE_UNAVAILABLE
  'store',
  'store_full',
  'cache',
  'broadcast',
  'jwks',
  // ERR_CLAIMS_INVALID
  'subject',
  'session_id',
  'claims',
  'context',
  'device',
  'input',
  // ERR_CLAIMS_INVALID: an upstream identity (create's `upstream`) or selector (revokeUpstream) that is not bounded, well-formed text
  'upstream',
  // ERR_CONFIG_INVALID
  'option',
  'closed',
  // Any code: a SessionError built outside this library without a reason.
  'unspecified',
] as const;

export type SessionErrorReason = (typeof SESSION_ERROR_REASONS)[number];

const REASONS: ReadonlySet<string> = new Set(SESSION_ERROR_REASONS);

/**
 * Marks a {@link SessionError} from any copy of this package. npm often
 * installs two copies of session-core (one for the app, one under a storage
 * package or the adapter); `instanceof` compares classes, so it would fail
 * across copies. `Symbol.for` gives every copy the same key.
 */
const BRAND: unique symbol = Symbol.for('jwt-session.SessionError') as never;

const CODES: ReadonlySet<string> = new Set(SESSION_ERROR_CODES);

/**
 * The one message of each code. Fixed sentences, never built from input: a
 * message may end up in a log line, an HTTP body or an `error_description`,
 * and text from a token header, a claim name or a subject there is log
 * injection (a dependency's message once quoted a token's `crit` names,
 * newlines included).
 */
export const SESSION_ERROR_MESSAGES: Readonly<Record<SessionErrorCode, string>> = Object.freeze({
  ERR_AUTH_TOKEN_INVALID: 'the access token is invalid',
  ERR_AUTH_TOKEN_EXPIRED: 'the access token has expired',
  ERR_SESSION_REVOKED: 'the session has been revoked',
  ERR_REFRESH_TOKEN_INVALID: 'the refresh token is invalid',
  ERR_REFRESH_TOKEN_EXPIRED: 'the refresh token has expired',
  ERR_REFRESH_TOKEN_REUSED: 'the refresh token was already used',
  ERR_STORAGE_UNAVAILABLE: 'storage is unavailable; a revocation already made holds on this node and its broadcast will be retried',
  ERR_CLAIMS_INVALID: 'the subject, session id, claims or context are invalid',
  ERR_CONFIG_INVALID: 'the configuration is invalid',
  ERR_DPOP_PROOF_INVALID: 'the DPoP proof is invalid',
  ERR_DPOP_NONCE_REQUIRED: 'the DPoP proof must carry the current server nonce',
  ERR_DPOP_BINDING_MISMATCH: 'the DPoP proof was not made with the key the token is bound to',
  ERR_AUTH_NOT_FRESH: 'a more recent authentication is required',
});

/**
 * `message` is {@link SESSION_ERROR_MESSAGES}`[code]`, whatever text the
 * constructor is given, except for ERR_CONFIG_INVALID: that one is raised
 * while the application configures the library (or uses a closed manager)
 * and names the option, which is the library's own text.
 *
 * `reason` ({@link SESSION_ERROR_REASONS}) says which check refused: the
 * library always gives one; `'unspecified'` when the constructor gets none
 * or one not on the list. A plain string argument, not an options field, so a
 * refusal costs no object beyond the error itself.
 */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;
  readonly reason: SessionErrorReason;
  declare readonly [BRAND]: true;

  constructor(code: SessionErrorCode, detail?: string, options?: { cause?: unknown }, reason?: SessionErrorReason) {
    const known = Object.hasOwn(SESSION_ERROR_MESSAGES, code) ? code : 'ERR_CONFIG_INVALID';
    super(known === 'ERR_CONFIG_INVALID' && typeof detail === 'string' && /^[ -~]{1,200}$/.test(detail) ? detail : SESSION_ERROR_MESSAGES[known], options);
    this.code = known;
    this.reason = reason !== undefined && REASONS.has(reason) ? reason : 'unspecified';
  }

  /**
   * `error instanceof SessionError` is true for a SessionError made by any
   * copy of session-core (by brand and code), so apps that check with
   * `instanceof` keep working when npm installs two copies. Subclasses keep
   * the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== SessionError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isSessionError(value);
  }
}
Object.defineProperty(SessionError.prototype, BRAND, { value: true });

/**
 * True for a {@link SessionError} from any copy of session-core (it carries
 * the brand and one of the documented codes), optionally of one of the given
 * codes. Prefer it to `instanceof` in code that receives errors from other
 * packages.
 */
export function isSessionError(value: unknown, ...codes: SessionErrorCode[]): value is SessionError {
  if (typeof value !== 'object' || value === null) return false;
  let brand: unknown;
  let code: unknown;
  try {
    ({ [BRAND]: brand, code } = value as { [BRAND]?: unknown; code?: unknown });
  } catch {
    return false; // a proxy or a getter that throws is not one of ours
  }
  return brand === true && typeof code === 'string' && CODES.has(code) && (codes.length === 0 || codes.includes(code as SessionErrorCode));
}

/** Wraps whatever a refresh-token store threw into ERR_STORAGE_UNAVAILABLE (reason `store`); a SessionError keeps its own code and reason. */
export function storageError(operation: string, cause: unknown): SessionError {
  if (isSessionError(cause)) return cause;
  return new SessionError('ERR_STORAGE_UNAVAILABLE', `storage failed during ${operation}`, { cause }, 'store');
}


/** The reason of whatever was thrown, for logs and metrics: a SessionError's (or an error of the adapters), `unspecified` for anything else. */
export function reasonOf(error: unknown): SessionErrorReason {
  try {
    const reason = (error as { reason?: unknown } | null | undefined)?.reason;
    return typeof reason === 'string' && REASONS.has(reason) ? (reason as SessionErrorReason) : 'unspecified';
  } catch {
    return 'unspecified';
  }
}

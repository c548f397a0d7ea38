import { isSessionError, type SessionErrorCode, type SessionErrorReason } from '@jwt-session/session-core';

/**
 * Codes this package adds to session-core's. Together with `SessionErrorCode`
 * they are the whole vocabulary a client or an HTTP caller can see.
 */
export const ADAPTER_ERROR_CODES = [
  /** No token in `auth.token`, a Bearer header or the configured cookie. */
  'ERR_AUTH_TOKEN_REQUIRED',
  /** An `Authorization: Bearer` header that does not hold one well-formed token, or several Authorization headers. */
  'ERR_AUTH_HEADER_MALFORMED',
  /** The token came from the cookie but the request's Origin is missing or not allowed. */
  'ERR_ORIGIN_NOT_ALLOWED',
  /** `users.findOrCreate` said the user is disabled. */
  'ERR_USER_DISABLED',
  /** `users.findOrCreate` threw or answered something that is not a user. */
  'ERR_USER_PROVISIONING_FAILED',
  /** A renewal token, or the token of a recovered socket, belongs to another subject or another session. */
  'ERR_SESSION_MISMATCH',
  /** Too many `session:renew` on one socket (each one is a signature check). */
  'ERR_RATE_LIMITED',
  /** Anything unexpected; details stay on the server (`cause`). */
  'ERR_INTERNAL',
] as const;

export type AdapterErrorCode = (typeof ADAPTER_ERROR_CODES)[number];
export type AuthErrorCode = SessionErrorCode | AdapterErrorCode;

/**
 * Reasons this package adds to session-core's `SESSION_ERROR_REASONS`: why a
 * request or a socket was refused, one step finer than the code, for the
 * operator (`error.reason`, the `onError` hook), never for the client.
 */
export const ADAPTER_ERROR_REASONS = [
  /** ERR_AUTH_TOKEN_REQUIRED: no token in any source the options name. */
  'missing_token',
  /** ERR_AUTH_HEADER_MALFORMED: the Authorization header is not one `Bearer <b64token>`. */
  'authorization_header',
  /** ERR_AUTH_HEADER_MALFORMED: several Authorization headers. */
  'duplicate_authorization',
  /** ERR_AUTH_HEADER_MALFORMED: a Cookie header that is neither a string nor a list of strings. */
  'cookie_header',
  /** ERR_ORIGIN_NOT_ALLOWED: a cookie token from a missing or unlisted Origin. */
  'origin',
  /** ERR_USER_DISABLED: `users.findOrCreate` answered `isDisabled: true`. */
  'user_disabled',
  /** ERR_USER_PROVISIONING_FAILED or ERR_STORAGE_UNAVAILABLE: `users.findOrCreate` threw. */
  'user_store',
  /** ERR_USER_PROVISIONING_FAILED: `users.findOrCreate` answered something that is not a user. */
  'not_a_user',
  /** ERR_STORAGE_UNAVAILABLE: `sessions.registerSocket` threw. */
  'tracker',
  /** ERR_SESSION_MISMATCH: a renewal or a recovered socket with another subject, session or user. */
  'session_mismatch',
  /** ERR_SESSION_REVOKED: the guard found a live socket's claims revoked (`isRevoked`), or its session ended by a revocation event. */
  'revoked',
  /** ERR_RATE_LIMITED: too many `session:renew` on one socket. */
  'rate_limited',
  /** ERR_INTERNAL: anything else thrown (a getter, a `getToken`, an `allowedOrigins` predicate); see `cause`. */
  'internal',
] as const;

export type AdapterErrorReason = (typeof ADAPTER_ERROR_REASONS)[number];
export type AuthErrorReason = SessionErrorReason | AdapterErrorReason;

/** The reason of each adapter code when none is given: the one of its kind. */
const DEFAULT_REASONS: Record<AdapterErrorCode, AdapterErrorReason> = {
  ERR_AUTH_TOKEN_REQUIRED: 'missing_token',
  ERR_AUTH_HEADER_MALFORMED: 'authorization_header',
  ERR_ORIGIN_NOT_ALLOWED: 'origin',
  ERR_USER_DISABLED: 'user_disabled',
  ERR_USER_PROVISIONING_FAILED: 'not_a_user',
  ERR_SESSION_MISMATCH: 'session_mismatch',
  ERR_RATE_LIMITED: 'rate_limited',
  ERR_INTERNAL: 'internal',
};

/** Same reason as session-core's brand: two installed copies must still recognise each other's errors. */
const BRAND: unique symbol = Symbol.for('jwt-session.AuthError') as never;

/**
 * One fixed message per code. A message never contains a token, a claim, a
 * header value or the text of an underlying error: token parsers quote what
 * they were given (jose quotes unknown `crit` names, newlines included), and
 * these messages go into HTTP bodies, `WWW-Authenticate` and logs.
 */
const MESSAGES: Record<AdapterErrorCode, string> & Partial<Record<SessionErrorCode, string>> = {
  ERR_AUTH_TOKEN_REQUIRED: 'an access token is required',
  ERR_AUTH_HEADER_MALFORMED: 'the Authorization header must hold exactly one "Bearer <token>" or "DPoP <token>"',
  ERR_ORIGIN_NOT_ALLOWED: 'cookie authentication is not allowed from this origin',
  ERR_USER_DISABLED: 'the user is disabled',
  ERR_USER_PROVISIONING_FAILED: 'the user could not be provisioned',
  ERR_SESSION_MISMATCH: 'the token belongs to another subject or session',
  ERR_RATE_LIMITED: 'too many requests, try again later',
  ERR_INTERNAL: 'authentication failed unexpectedly',
  ERR_AUTH_TOKEN_INVALID: 'the access token is invalid',
  ERR_AUTH_TOKEN_EXPIRED: 'the access token has expired',
  ERR_SESSION_REVOKED: 'the session has been revoked',
  ERR_REFRESH_TOKEN_INVALID: 'the refresh token is invalid',
  ERR_REFRESH_TOKEN_EXPIRED: 'the refresh token has expired',
  ERR_REFRESH_TOKEN_REUSED: 'the refresh token was already used',
  ERR_STORAGE_UNAVAILABLE: 'a store is unavailable, try again later',
  ERR_CLAIMS_INVALID: 'the claims are invalid',
  ERR_CONFIG_INVALID: 'the authentication options are invalid',
  ERR_AUTH_NOT_FRESH: 'a more recent authentication is required',
  ERR_DPOP_PROOF_INVALID: 'the DPoP proof is invalid',
  ERR_DPOP_NONCE_REQUIRED: 'the DPoP proof must carry the current server nonce',
  ERR_DPOP_BINDING_MISMATCH: 'the DPoP proof was not made with the key the token is bound to',
};

/** The fixed message of a code. */
export function messageOf(code: AuthErrorCode): string {
  return MESSAGES[code] ?? 'authentication failed';
}

/**
 * The one error this package reports. Branch on `code`. The message is fixed
 * per code (see {@link messageOf}), so it is safe to send to clients and to
 * log. The one exception is `ERR_CONFIG_INVALID` from {@link AuthError.config},
 * thrown at start-up, whose message names the option (text of this package's
 * choosing, never a value).
 *
 * `reason` says which check refused (session-core's `SESSION_ERROR_REASONS`
 * and {@link ADAPTER_ERROR_REASONS}): for logs and the `onError` hook only.
 * {@link AuthError.toJSON}, and so `connect_error` data, HTTP bodies and
 * `WWW-Authenticate`, never carry it.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly reason: AuthErrorReason;

  declare readonly [BRAND]: true;

  constructor(code: AuthErrorCode, options?: { cause?: unknown }, reason?: AuthErrorReason) {
    super(messageOf(code), options);
    this.code = code;
    this.reason = reason ?? (Object.hasOwn(DEFAULT_REASONS, code) ? DEFAULT_REASONS[code as AdapterErrorCode] : 'unspecified');
  }

  /** An invalid option, reported when the middleware, plugin or guard is built. */
  static config(where: string, option: string, expected: string): AuthError {
    const error = new AuthError('ERR_CONFIG_INVALID', undefined, 'option');
    error.message = `${where}: ${option} must be ${expected}`;
    return error;
  }

  /** What goes over the wire: Socket.IO's `err.data` and the HTTP body use it. */
  toJSON(): { code: AuthErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
Object.defineProperty(AuthError.prototype, BRAND, { value: true });

export function isAuthError(value: unknown): value is AuthError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true && typeof (value as { code?: unknown }).code === 'string';
}

/**
 * Normalises whatever a verification step threw. A SessionError keeps its code
 * (its message is not passed on: it may quote the token's header); anything
 * else becomes ERR_INTERNAL, because a foreign error message might quote its
 * input. Errors are recognised by brand and code, never by `instanceof`: the
 * app's copy of session-core may not be the adapter's.
 */
export function toAuthError(error: unknown): AuthError {
  if (isAuthError(error)) return error;
  // `reason` may be absent on a SessionError of a session-core older than the reasons.
  if (isSessionError(error)) return new AuthError(error.code, { cause: error }, (error.reason as SessionErrorReason | undefined) ?? 'unspecified');
  return new AuthError('ERR_INTERNAL', { cause: error }, 'internal');
}

/**
 * The code {@link toAuthError} gives `error`, without building an
 * `AuthError`: a refusal that tells no `onError` need not pay for a stack trace.
 */
export function authCodeOf(error: unknown): AuthErrorCode {
  return isAuthError(error) || isSessionError(error) ? error.code : 'ERR_INTERNAL';
}

/**
 * Tells the application's `onError` hook (logs, metrics) about a refusal.
 * Its failure is swallowed: a broken logger must not change what the client
 * is answered, nor crash the server.
 */
export function reportRefusal(onError: ((error: AuthError) => void) | undefined, error: AuthError): void {
  if (onError === undefined) return;
  try {
    onError(error);
  } catch {
    // Deliberately ignored (see above).
  }
}

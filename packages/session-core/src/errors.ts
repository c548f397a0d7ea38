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
] as const;

export type SessionErrorCode = (typeof SESSION_ERROR_CODES)[number];

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
  ERR_REFRESH_TOKEN_REUSED: 'the refresh token was already used; the session has been revoked',
  ERR_STORAGE_UNAVAILABLE: 'storage is unavailable; a revocation already made holds on this node and its broadcast will be retried',
  ERR_CLAIMS_INVALID: 'the subject, session id, claims or context are invalid',
  ERR_CONFIG_INVALID: 'the configuration is invalid',
});

/**
 * `message` is {@link SESSION_ERROR_MESSAGES}`[code]`, whatever text the
 * constructor is given, except for ERR_CONFIG_INVALID: that one is raised
 * while the application configures the library (or uses a closed manager)
 * and names the option, which is the library's own text.
 */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, detail?: string, options?: { cause?: unknown }) {
    const known = Object.hasOwn(SESSION_ERROR_MESSAGES, code) ? code : 'ERR_CONFIG_INVALID';
    super(known === 'ERR_CONFIG_INVALID' && typeof detail === 'string' && /^[ -~]{1,200}$/.test(detail) ? detail : SESSION_ERROR_MESSAGES[known], options);
    this.code = known;
  }
}

/** True for a {@link SessionError}, optionally of one of the given codes. */
export function isSessionError(value: unknown, ...codes: SessionErrorCode[]): value is SessionError {
  return value instanceof SessionError && (codes.length === 0 || codes.includes(value.code));
}

/** Wraps whatever a store, cache or broadcaster threw into ERR_STORAGE_UNAVAILABLE. */
export function storageError(operation: string, cause: unknown): SessionError {
  if (cause instanceof SessionError) return cause;
  return new SessionError('ERR_STORAGE_UNAVAILABLE', `storage failed during ${operation}`, { cause });
}

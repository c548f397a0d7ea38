/**
 * Every failure this library reports is a {@link SessionError} with a stable
 * `code`; branch on `code`, never on `message` (messages may be reworded).
 * Messages never contain a token, a refresh secret or a token's claims.
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

export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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

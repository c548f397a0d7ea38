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

/**
 * Marks a {@link SessionError} from any copy of this package. npm often
 * installs two copies of session-core (one for the app, one under a storage
 * package or the adapter); `instanceof` compares classes, so it would fail
 * across copies. `Symbol.for` gives every copy the same key.
 */
const BRAND: unique symbol = Symbol.for('jwt-session.SessionError') as never;

const CODES: ReadonlySet<string> = new Set(SESSION_ERROR_CODES);

export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;
  declare readonly [BRAND]: true;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
  if (typeof value !== 'object' || value === null || (value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && CODES.has(code) && (codes.length === 0 || codes.includes(code as SessionErrorCode));
}

/** Wraps whatever a store, cache or broadcaster threw into ERR_STORAGE_UNAVAILABLE. */
export function storageError(operation: string, cause: unknown): SessionError {
  if (isSessionError(cause)) return cause;
  return new SessionError('ERR_STORAGE_UNAVAILABLE', `storage failed during ${operation}`, { cause });
}

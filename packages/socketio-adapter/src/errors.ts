import { isSessionError, type SessionErrorCode } from '@jwt-session/session-core';

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
  /** A renewal token belongs to another subject or another session. */
  'ERR_SESSION_MISMATCH',
  /** Anything unexpected; details stay on the server (`cause`). */
  'ERR_INTERNAL',
] as const;

export type AdapterErrorCode = (typeof ADAPTER_ERROR_CODES)[number];
export type AuthErrorCode = SessionErrorCode | AdapterErrorCode;

/** Same reason as session-core's brand: two installed copies must still recognise each other's errors. */
const BRAND: unique symbol = Symbol.for('jwt-session.AuthError') as never;

/**
 * The one error this package reports. Branch on `code`. Messages are fixed
 * strings chosen here: they never contain a token, a claim or a header value,
 * so they are safe to send to clients and to log.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;

  declare readonly [BRAND]: true;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** What goes over the wire: Socket.IO's `err.data` and the HTTP body use it. */
  toJSON(): { code: AuthErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
Object.defineProperty(AuthError.prototype, BRAND, { value: true });

function isAuthError(value: unknown): value is AuthError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true && typeof (value as { code?: unknown }).code === 'string';
}

/**
 * Normalises whatever a verification step threw. A SessionError keeps its code
 * and message (session-core guarantees they hold no token); anything else
 * becomes ERR_INTERNAL with a fixed message, because a foreign error message
 * might quote its input. Errors are recognised by brand and code, never by
 * `instanceof`: the app's copy of session-core may not be the adapter's.
 */
export function toAuthError(error: unknown): AuthError {
  if (isAuthError(error)) return error;
  if (isSessionError(error)) return new AuthError(error.code, error.message, { cause: error });
  return new AuthError('ERR_INTERNAL', 'authentication failed unexpectedly', { cause: error });
}

import { isSessionError, type SessionErrorCode } from '@jwt-session/session-core';

/** Codes this package adds to session-core's. */
export const HTTP_ERROR_CODES = [
  /** A state-changing request from a foreign or unknown origin, or without the custom header. */
  'ERR_CSRF',
  /** `DELETE {base}/sessions/:id` for a session that is not one of the caller's live ones. */
  'ERR_SESSION_NOT_FOUND',
  /** A bearer endpoint called without `Authorization: Bearer`. */
  'ERR_AUTH_TOKEN_REQUIRED',
  /** An Authorization header that is not one well-formed `Bearer <token>` (or `DPoP <token>`), or several of them. */
  'ERR_AUTH_HEADER_MALFORMED',
  /**
   * More than one refresh cookie of the name came (another one tossed in by a
   * sibling subdomain or over http, see `readRefreshCookies`): none is used,
   * and none is cleared, since the answer cannot tell which is genuine.
   */
  'ERR_REFRESH_COOKIE_AMBIGUOUS',
  /** `GET {base}/revocations` with an `after` that is not one cursor of the log served. */
  'ERR_REVOCATION_CURSOR_INVALID',
  /** `reauthenticateSession`: the application's credential check said no (a wrong password, a wrong code). */
  'ERR_CREDENTIALS_INVALID',
  /** Anything unexpected; details go to `onError`, never to the client. */
  'ERR_INTERNAL',
] as const;

export type HttpErrorCode = SessionErrorCode | (typeof HTTP_ERROR_CODES)[number];

/**
 * The error this package throws (only ERR_CONFIG_INVALID, at construction) and
 * answers with. Branch on `code`.
 */
export class SessionHttpError extends Error {
  override readonly name = 'SessionHttpError';
  readonly code: HttpErrorCode;

  constructor(code: HttpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * What a client is told, per code: fixed text, so no token, header value or
 * other attacker-supplied text ever reaches a response body.
 */
const MESSAGES: Record<HttpErrorCode, string> = {
  ERR_CSRF: 'request refused: it is not from an allowed origin or lacks the required header',
  ERR_SESSION_NOT_FOUND: 'no such session',
  ERR_AUTH_TOKEN_REQUIRED: 'an access token is required',
  ERR_AUTH_HEADER_MALFORMED: 'the Authorization header must be one "Bearer <token>" or "DPoP <token>"',
  ERR_REFRESH_COOKIE_AMBIGUOUS: 'more than one refresh cookie was sent; none was used',
  ERR_REVOCATION_CURSOR_INVALID: 'the after parameter is not a cursor of this log',
  ERR_CREDENTIALS_INVALID: 'the credentials are invalid',
  ERR_INTERNAL: 'internal error',
  ERR_AUTH_TOKEN_INVALID: 'the access token is invalid',
  ERR_AUTH_TOKEN_EXPIRED: 'the access token has expired',
  ERR_SESSION_REVOKED: 'the session has been revoked',
  ERR_REFRESH_TOKEN_INVALID: 'the refresh token is invalid',
  ERR_REFRESH_TOKEN_EXPIRED: 'the refresh token has expired',
  ERR_REFRESH_TOKEN_REUSED: 'the refresh token was already used',
  ERR_STORAGE_UNAVAILABLE: 'the session store is unavailable; try again',
  ERR_CLAIMS_INVALID: 'internal error',
  ERR_CONFIG_INVALID: 'internal error',
  ERR_DPOP_PROOF_INVALID: 'the DPoP proof is invalid',
  ERR_DPOP_NONCE_REQUIRED: 'the DPoP proof must carry the current server nonce',
  ERR_DPOP_BINDING_MISMATCH: 'the DPoP proof was not made with the key the token is bound to',
  ERR_AUTH_NOT_FRESH: 'a more recent authentication is required',
};

const STATUS: Record<HttpErrorCode, number> = {
  ERR_CSRF: 403,
  ERR_SESSION_NOT_FOUND: 404,
  ERR_AUTH_TOKEN_REQUIRED: 401,
  ERR_AUTH_HEADER_MALFORMED: 400,
  ERR_REFRESH_COOKIE_AMBIGUOUS: 401,
  ERR_REVOCATION_CURSOR_INVALID: 400,
  ERR_CREDENTIALS_INVALID: 401,
  ERR_INTERNAL: 500,
  ERR_AUTH_TOKEN_INVALID: 401,
  ERR_AUTH_TOKEN_EXPIRED: 401,
  ERR_SESSION_REVOKED: 401,
  ERR_REFRESH_TOKEN_INVALID: 401,
  ERR_REFRESH_TOKEN_EXPIRED: 401,
  ERR_REFRESH_TOKEN_REUSED: 401,
  ERR_STORAGE_UNAVAILABLE: 503,
  // Both mean the application passed something wrong (bad claims, a closed manager): a server bug.
  ERR_CLAIMS_INVALID: 500,
  ERR_CONFIG_INVALID: 500,
  // RFC 9449 §7.1: a resource request with a bad proof, without the server's nonce or by another key is answered 401.
  ERR_DPOP_PROOF_INVALID: 401,
  ERR_DPOP_NONCE_REQUIRED: 401,
  ERR_DPOP_BINDING_MISMATCH: 401,
  // RFC 9470 §3: step-up is a 401 (the guards of @jwt-session/socketio-adapter answer it with its challenge).
  ERR_AUTH_NOT_FRESH: 401,
};

export function messageOf(code: HttpErrorCode): string {
  return MESSAGES[code];
}

export function statusOf(code: HttpErrorCode): number {
  return STATUS[code];
}

/**
 * The code of whatever a manager call threw: a SessionError's own (recognised
 * by brand, so a second installed copy of session-core keeps its meaning),
 * ERR_INTERNAL for anything else, whose text might quote its input.
 */
export function codeOf(error: unknown): HttpErrorCode {
  return isSessionError(error) ? error.code : 'ERR_INTERNAL';
}

/** Codes after which the refresh cookie can never work again, so it is cleared. */
export const DEAD_REFRESH_TOKEN: ReadonlySet<HttpErrorCode> = new Set(['ERR_REFRESH_TOKEN_INVALID', 'ERR_REFRESH_TOKEN_EXPIRED', 'ERR_REFRESH_TOKEN_REUSED']);

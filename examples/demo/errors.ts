// Turns whatever went wrong into a status, a stable code and a sentence a
// person can act on. Nothing here ever echoes a token or a stack trace.
import { isSessionError } from '@jwt-session/session-core';
import { HttpError } from './http.js';

const MESSAGES: Record<string, [number, string]> = {
  ERR_REFRESH_TOKEN_EXPIRED: [401, 'Your session has expired. Please sign in again.'],
  ERR_REFRESH_TOKEN_INVALID: [401, 'Your session is no longer valid: it was signed out, or the session cookie was altered. Please sign in again.'],
  ERR_REFRESH_TOKEN_REUSED: [401, 'This session was ended for your safety: an old copy of its session cookie was used. Please sign in again.'],
  ERR_AUTH_TOKEN_INVALID: [401, 'The access token was rejected: it is malformed or was tampered with.'],
  ERR_AUTH_TOKEN_EXPIRED: [401, 'The access token has expired.'],
  ERR_SESSION_REVOKED: [401, 'This session was signed out.'],
  ERR_STORAGE_UNAVAILABLE: [503, 'The session store is unavailable right now. Please try again in a moment.'],
  ERR_CLAIMS_INVALID: [400, 'The request could not be processed.'],
};

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isSessionError(error)) {
    const [status, message] = MESSAGES[error.code] ?? [500, 'Something went wrong on the server.'];
    return new HttpError(status, error.code, message);
  }
  return new HttpError(500, 'ERR_INTERNAL', 'Something went wrong on the server.');
}

/** One log line for an unexpected error: its name and code, never its message (which might quote input). */
export function describeForLog(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''} at ${error.stack?.split('\n')[1]?.trim() ?? '?'}`;
  }
  return typeof error;
}

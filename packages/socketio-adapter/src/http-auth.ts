import type { SessionVerifier } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateRequest, type AuthContext, type AuthenticateOptions } from './authenticate.js';
import { toAuthError, type AuthError, type AuthErrorCode } from './errors.js';

/**
 * What httpAuth leaves for the next handlers. Not a global augmentation of
 * IncomingMessage, so it cannot clash with an application's own `auth`; for
 * Express, see the README for a one-line `Express.Request` augmentation.
 */
export type AuthenticatedRequest = IncomingMessage & { auth?: AuthContext };

export interface HttpAuthOptions extends AuthenticateOptions {
  /** The `realm` of the WWW-Authenticate challenge. @default none */
  realm?: string;
  /** Let requests without any token through (with no `req.auth`); a bad token is still refused. @default false */
  optional?: boolean;
}

export interface HttpFailure {
  status: number;
  headers: Record<string, string>;
  body: { error: AuthErrorCode; message: string };
}

const STATUS: Partial<Record<AuthErrorCode, number>> = {
  ERR_AUTH_TOKEN_REQUIRED: 401,
  ERR_AUTH_TOKEN_INVALID: 401,
  ERR_AUTH_TOKEN_EXPIRED: 401,
  ERR_SESSION_REVOKED: 401,
  ERR_AUTH_HEADER_MALFORMED: 400,
  ERR_USER_DISABLED: 403,
  ERR_ORIGIN_NOT_ALLOWED: 403,
  ERR_STORAGE_UNAVAILABLE: 503,
};

/** The HTTP status of a code: 401 for token problems, 400, 403, 503, and 500 for everything else. */
export function httpStatusOf(code: AuthErrorCode): number {
  return STATUS[code] ?? 500;
}

/** RFC 6750 quoted-string content: no quote, no backslash, printable ASCII. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

/**
 * The RFC 6750 answer to a failed authentication. A missing token gets a bare
 * challenge (no `error`: the client simply did not try); a bad token gets
 * `error="invalid_token"`; a malformed request `error="invalid_request"`.
 */
export function httpFailure(error: AuthError, options: { realm?: string } = {}): HttpFailure {
  const status = httpStatusOf(error.code);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const params: string[] = options.realm === undefined ? [] : [`realm=${quoted(options.realm)}`];
  if (status === 401 && error.code !== 'ERR_AUTH_TOKEN_REQUIRED') params.push('error="invalid_token"', `error_description=${quoted(error.message)}`);
  if (status === 400) params.push('error="invalid_request"', `error_description=${quoted(error.message)}`);
  if (status === 401 || status === 400) headers['www-authenticate'] = params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
  return { status, headers, body: { error: error.code, message: error.message } };
}

/** Verifies an HTTP request; `undefined` means "no token, and that is allowed". Shared by Express and Fastify. */
export async function authenticateHttp(
  manager: SessionVerifier,
  req: IncomingMessage,
  options: HttpAuthOptions,
): Promise<{ auth: AuthContext } | { failure: HttpFailure } | undefined> {
  try {
    const { auth } = await authenticateRequest(manager, { headers: req.headers, rawHeaders: req.rawHeaders }, options);
    return { auth };
  } catch (thrown) {
    const error = toAuthError(thrown);
    if (options.optional === true && error.code === 'ERR_AUTH_TOKEN_REQUIRED') return undefined;
    return { failure: httpFailure(error, options) };
  }
}

/**
 * A connect/Express middleware: sets `req.auth` (same shape as
 * `socket.data.auth`) or answers 400/401/403/503 itself per RFC 6750, with a
 * JSON body `{ error: code, message }`.
 */
export function httpAuth(
  manager: SessionVerifier,
  options: HttpAuthOptions = {},
): (req: AuthenticatedRequest, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    authenticateHttp(manager, req, options).then(
      (result) => {
        if (result === undefined) return next();
        if ('auth' in result) {
          req.auth = result.auth;
          return next();
        }
        const { status, headers, body } = result.failure;
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(JSON.stringify(body));
      },
      // authenticateHttp does not throw; this is for a failing next() or response write.
      (error: unknown) => next(error),
    );
  };
}

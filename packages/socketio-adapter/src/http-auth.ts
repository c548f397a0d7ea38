import type { SessionVerifier } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyToken, type AuthContext, type AuthenticateOptions, type ProvisionedUser } from './authenticate.js';
import { AuthError, reportRefusal, toAuthError, type AuthErrorCode } from './errors.js';
import { checkHttpOptions, checkVerifier } from './options.js';
import { findToken } from './token-source.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `httpAuth` once the request's access token is verified; undefined otherwise. */
      auth?: AuthContext;
    }
  }
}

/** What httpAuth leaves for the next handlers (on Express, `req.auth` is typed already). */
export type AuthenticatedRequest<Req extends IncomingMessage = IncomingMessage, User extends ProvisionedUser = ProvisionedUser> = Req & { auth?: AuthContext<User> };

/** A custom token source: the token, or null/undefined/'' for "this request carries none". */
export type GetToken<Req> = (req: Req) => string | null | undefined | Promise<string | null | undefined>;

export interface HttpAuthOptions<User extends ProvisionedUser = ProvisionedUser, Req extends IncomingMessage = IncomingMessage> extends AuthenticateOptions<User> {
  /** The `realm` of the WWW-Authenticate challenge. @default none */
  realm?: string;
  /**
   * `false`: optional authentication. A request without a token passes with
   * `req.auth` undefined; a bad token is still refused.
   * @default true
   */
  credentialsRequired?: boolean;
  /** Finds the token yourself (replaces the Authorization header and cookie sources). @default none */
  getToken?: GetToken<Req>;
  /**
   * CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) pass
   * without authentication: browsers never send credentials on them, so the
   * CORS middleware after this one can answer. `false` authenticates them too.
   * @default true
   */
  allowPreflight?: boolean;
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
  // A refresh endpoint's failures are the client's credentials failing, like an access token's.
  ERR_REFRESH_TOKEN_INVALID: 401,
  ERR_REFRESH_TOKEN_EXPIRED: 401,
  ERR_REFRESH_TOKEN_REUSED: 401,
  ERR_SESSION_MISMATCH: 401,
  ERR_AUTH_HEADER_MALFORMED: 400,
  ERR_USER_DISABLED: 403,
  ERR_ORIGIN_NOT_ALLOWED: 403,
  ERR_RATE_LIMITED: 429,
  ERR_STORAGE_UNAVAILABLE: 503,
};

/**
 * The HTTP status of an error or a code: 401 for credential problems (access
 * and refresh tokens), 400, 403, 429, 503, and 500 for everything else.
 */
export function httpStatusOf(error: AuthErrorCode | AuthError | unknown): number {
  const code = typeof error === 'string' ? error : toAuthError(error).code;
  return (Object.hasOwn(STATUS, code) ? STATUS[code as AuthErrorCode] : undefined) ?? 500;
}

/** RFC 6750 quoted-string content: no quote, no backslash, printable ASCII. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

function realmOf(options: unknown): string | undefined {
  try {
    const realm = (options as { realm?: unknown } | null | undefined)?.realm;
    return typeof realm === 'string' ? realm : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The RFC 6750 answer to a failed authentication. A missing token gets a bare
 * challenge (no `error`: the client simply did not try); a bad token gets
 * `error="invalid_token"`; a malformed request `error="invalid_request"`.
 */
export function httpFailure(error: AuthError, options: { realm?: string } = {}): HttpFailure {
  error = toAuthError(error);
  const status = httpStatusOf(error.code);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const realm = realmOf(options);
  const params: string[] = realm === undefined ? [] : [`realm=${quoted(realm)}`];
  if (status === 401 && error.code !== 'ERR_AUTH_TOKEN_REQUIRED') params.push('error="invalid_token"', `error_description=${quoted(error.message)}`);
  if (status === 400) params.push('error="invalid_request"', `error_description=${quoted(error.message)}`);
  if (status === 401 || status === 400) headers['www-authenticate'] = params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
  return { status, headers, body: { error: error.code, message: error.message } };
}

/** A CORS preflight: the browser asks before the real request, and never with credentials. */
function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
}

async function tokenFrom<Req>(getToken: GetToken<Req>, req: Req): Promise<string> {
  let token: unknown;
  try {
    token = await getToken(req);
  } catch (error) {
    // Caller code: an AuthError it threw keeps its code, anything else is ERR_INTERNAL.
    throw toAuthError(error);
  }
  if (token === undefined || token === null || token === '') throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
  if (typeof token !== 'string') throw new AuthError('ERR_AUTH_TOKEN_INVALID', undefined, 'malformed');
  return token;
}

/**
 * Verifies an HTTP request; `undefined` means "let it through without auth"
 * (a preflight, or no token with `credentialsRequired: false`). Shared by
 * Express and Fastify; never throws.
 */
export async function authenticateHttp<User extends ProvisionedUser, Req extends IncomingMessage>(
  manager: SessionVerifier,
  req: Req,
  options: HttpAuthOptions<User, Req>,
  getToken: GetToken<Req> | undefined = options.getToken,
): Promise<{ auth: AuthContext<User> } | { failure: HttpFailure } | undefined> {
  try {
    if (req === null || typeof req !== 'object') throw AuthError.config('httpAuth', 'req', 'an IncomingMessage');
    if (options.allowPreflight !== false && isPreflight(req)) return undefined;
    // The manager and the options were checked when the middleware or plugin was built: not again per request.
    const token = getToken !== undefined ? await tokenFrom(getToken, req) : findToken({ headers: req.headers, rawHeaders: req.rawHeaders }, options).token;
    return { auth: await verifyToken(manager, token, options) };
  } catch (thrown) {
    const error = toAuthError(thrown);
    if (options.credentialsRequired === false && error.code === 'ERR_AUTH_TOKEN_REQUIRED') return undefined;
    reportRefusal(options.onError, error);
    // The answer is built from the code alone: the reason stays with the operator.
    return { failure: httpFailure(error, options) };
  }
}

/**
 * A connect/Express middleware: sets `req.auth` (same shape as
 * `socket.data.auth`) or answers 400/401/403/503 itself per RFC 6750, with a
 * JSON body `{ error: code, message }`.
 *
 * @example
 * app.get('/me', httpAuth(manager, { realm: 'api' }), (req, res) => res.json(req.auth));
 */
export function httpAuth<Req extends IncomingMessage = IncomingMessage, User extends ProvisionedUser = ProvisionedUser>(
  manager: SessionVerifier,
  options: HttpAuthOptions<User, Req> = {},
): (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void {
  checkVerifier('httpAuth', 'manager', manager);
  checkHttpOptions('httpAuth', options);
  return (req, res, next) => {
    if (typeof next !== 'function') throw AuthError.config('httpAuth middleware', 'next', 'a function');
    authenticateHttp(manager, req, options)
      .then((result) => {
        if (result === undefined) return next();
        if ('auth' in result) {
          (req as AuthenticatedRequest<Req, User>).auth = result.auth;
          return next();
        }
        const { status, headers, body } = result.failure;
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(JSON.stringify(body));
      })
      // authenticateHttp does not throw; this is for a failing response write (or next()), coded for the error handler.
      .catch((error: unknown) => next(toAuthError(error)));
  };
}

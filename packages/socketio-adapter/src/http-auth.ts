import { dpopChallenge, type SessionVerifier } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { syncReadOf, verifyTokenNow, type AuthContext, type AuthenticateOptions, type ProvisionedUser } from './authenticate.js';
import { checkDpopOptions, schemeOf, type GuardDpop, type GuardDpopOptions, type ProofRequest } from './dpop.js';
import { AuthError, authCodeOf, isAuthError, messageOf, reportRefusal, toAuthError, type AuthErrorCode } from './errors.js';
import { checkHttpOptions, checkVerifier } from './options.js';
import { httpToken } from './token-source.js';
import { networkCheck, type NetworkCheck } from './network.js';

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

/**
 * What the core reads of a request: Node's IncomingMessage is one; a Web
 * Request reduces to one (see ./hono). The target and the connection are read
 * only for a DPoP-bound token (the proof's `htu`): `originalUrl` first, as
 * Express keeps it while a mounted router rewrites `url`.
 */
export type HttpRequestLike = Pick<IncomingMessage, 'method' | 'headers'> & {
  rawHeaders: readonly string[];
  url?: string | undefined;
  originalUrl?: string | undefined;
  /** Node's socket (a TLSSocket has `encrypted: true`). */
  socket?: object | undefined;
};

/** The options of every guard that takes DPoP-bound tokens (RFC 9449). */
export interface DpopGuardFields {
  /**
   * DPoP: the same option as @jwt-session/http's endpoints. A token bound to
   * a key (`cnf.jkt`) is accepted only under `Authorization: DPoP` with a
   * proof for this request by that key, never as a bearer token; with
   * `required`, unbound tokens are refused too.
   * @default none: bound tokens are refused (no replay cache to check their proofs against), unbound ones work as bearer tokens
   */
  dpop?: GuardDpopOptions;
  /**
   * Believe `X-Forwarded-Host` / `-Proto` for the request's own origin (the
   * proofs' `htu`) when no `dpop.publicOrigin` is set: `true`, or the number
   * of proxies in front. As @jwt-session/http's option.
   * @default false
   */
  trustProxy?: boolean | number;
}

export interface HttpAuthOptions<User extends ProvisionedUser = ProvisionedUser, Req extends HttpRequestLike = IncomingMessage> extends AuthenticateOptions<User>, DpopGuardFields {
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

/** httpAuth's options: {@link HttpAuthOptions} and the request's `network` (each framework's guard types it with its own request). */
export interface HttpAuthNetworkOptions<User extends ProvisionedUser = ProvisionedUser, Req extends HttpRequestLike = IncomingMessage> extends HttpAuthOptions<User, Req> {
  /**
   * The request's network, as the app gives it to the manager's create() and
   * update() (`device.network`: a /24 or /48 prefix, an ASN). With the
   * manager's `drift: 'refresh'`, an access token issued for another network
   * is refused (401 ERR_AUTH_TOKEN_INVALID, reason `drift`): the client
   * refreshes. See session-core's README on drift for the false positives.
   * @default none: no network check (and no cost)
   */
  network?: (req: Req) => string;
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
  // RFC 9470 §3: step-up is a 401 with error="insufficient_user_authentication" (see fresh.ts).
  ERR_AUTH_NOT_FRESH: 401,
  ERR_AUTH_HEADER_MALFORMED: 400,
  ERR_USER_DISABLED: 403,
  ERR_ORIGIN_NOT_ALLOWED: 403,
  ERR_RATE_LIMITED: 429,
  ERR_STORAGE_UNAVAILABLE: 503,
  // RFC 9449 §7.1: a proof that fails, a missing one, a stale nonce: the credentials failing.
  ERR_DPOP_PROOF_INVALID: 401,
  ERR_DPOP_NONCE_REQUIRED: 401,
  ERR_DPOP_BINDING_MISMATCH: 401,
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
  return failureOf(error.code, error.message, realmOf(options), undefined);
}

function failureOf(code: AuthErrorCode, message: string, realm: string | undefined, dpop: GuardDpop | undefined): HttpFailure {
  const status = httpStatusOf(code);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  // A DPoP refusal is answered with the DPoP challenge (and a fresh nonce), never a Bearer one: no downgrade.
  const challenge = dpopChallenge(code, dpop);
  if (challenge !== undefined) return { status, headers: { ...headers, ...challenge }, body: { error: code, message } };
  const params: string[] = realm === undefined ? [] : [`realm=${quoted(realm)}`];
  if (status === 401 && code !== 'ERR_AUTH_TOKEN_REQUIRED') params.push('error="invalid_token"', `error_description=${quoted(message)}`);
  if (status === 400) params.push('error="invalid_request"', `error_description=${quoted(message)}`);
  // RFC 9449 §7.1: a resource that takes DPoP-bound tokens only says so in its challenge, with the algorithms.
  const scheme = dpop?.required === true ? 'DPoP' : 'Bearer';
  if (scheme === 'DPoP' && status !== 403) params.push(`algs="${dpop!.algs}"`);
  if (status === 401 || status === 400) headers['www-authenticate'] = params.length === 0 ? scheme : `${scheme} ${params.join(', ')}`;
  return { status, headers, body: { error: code, message } };
}

/** A CORS preflight: the browser asks before the real request, and never with credentials. */
function isPreflight(req: HttpRequestLike): boolean {
  return req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function presentToken(token: unknown): string {
  if (token === undefined || token === null || token === '') throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
  if (typeof token !== 'string') throw new AuthError('ERR_AUTH_TOKEN_INVALID', undefined, 'malformed');
  return token;
}

/** Caller code: an AuthError it threw keeps its code, anything else is ERR_INTERNAL. */
function coded(error: unknown): never {
  throw toAuthError(error);
}

/** What `getToken` found: the token, or a promise of it when `getToken` answered with one. */
function tokenFrom<Source>(getToken: GetToken<Source>, source: Source): string | Promise<string> {
  let token: unknown;
  try {
    token = getToken(source);
    if (isThenable(token)) return Promise.resolve(token).then(presentToken, coded);
  } catch (error) {
    coded(error);
  }
  return presentToken(token);
}

/** A refused request: what to answer it with. */
export class HttpRefusal {
  constructor(readonly failure: HttpFailure) {}
}

/**
 * One request's outcome: its context, `undefined` to let it through without
 * one (a preflight, or no token with `credentialsRequired: false`), or the
 * refusal to answer with.
 */
export type HttpOutcome<User extends ProvisionedUser> = AuthContext<User> | HttpRefusal | undefined;

/**
 * The core shared by Express, Fastify, Hono and NestJS, built once per middleware or
 * plugin: decides one request (`source` is what `getToken` is given). Never
 * throws. Answers at once when nothing needs waiting for — a verifier with
 * `readSync`, no `users`, a `getToken` (if any) that returns a string — since
 * a promise and its microtask turns per request cost more than the cache hit
 * they would wait for; otherwise with a promise.
 */
export function httpCheck<User extends ProvisionedUser, Req extends HttpRequestLike, Source>(
  manager: SessionVerifier,
  options: AuthenticateOptions<User> & Pick<HttpAuthOptions, 'realm' | 'credentialsRequired' | 'allowPreflight' | 'dpop' | 'trustProxy'>,
  getToken: GetToken<Source> | undefined,
  network?: NetworkCheck<Source>,
): (req: Req, source: Source) => HttpOutcome<User> | Promise<HttpOutcome<User>> {
  const readSync = syncReadOf(manager);
  // Checked with the other options already: read here once, not per request.
  const dpop = checkDpopOptions('httpAuth', options as Record<string, unknown>);
  /**
   * The answer is built from the code alone: the reason stays with the
   * operator. The AuthError for `onError` is built only when there is an
   * `onError` (or one was thrown): its stack trace costs more than the rest
   * of a refusal, and refusals come in floods (scans, expired tokens).
   */
  const refuse = (thrown: unknown): HttpRefusal | undefined => {
    const error = options.onError !== undefined || isAuthError(thrown) ? toAuthError(thrown) : undefined;
    const code = error?.code ?? authCodeOf(thrown);
    if (options.credentialsRequired === false && code === 'ERR_AUTH_TOKEN_REQUIRED') return undefined;
    if (error !== undefined) reportRefusal(options.onError, error);
    return new HttpRefusal(failureOf(code, error?.message ?? messageOf(code), realmOf(options), dpop));
  };
  const missing = (): HttpRefusal | undefined => {
    if (options.credentialsRequired === false) return undefined;
    if (options.onError !== undefined) reportRefusal(options.onError, new AuthError('ERR_AUTH_TOKEN_REQUIRED'));
    return new HttpRefusal(failureOf('ERR_AUTH_TOKEN_REQUIRED', messageOf('ERR_AUTH_TOKEN_REQUIRED'), realmOf(options), dpop));
  };
  // The token came from the Authorization header when its scheme is ours; from a cookie or getToken otherwise.
  const proofOf = (req: Req): ProofRequest => ({
    scheme: getToken === undefined ? schemeOf(req.headers.authorization) : undefined,
    proof: req.headers.dpop,
    method: req.method ?? '',
    target: req.originalUrl ?? req.url,
    origin: { headers: req.headers, encrypted: (req.socket as { encrypted?: unknown } | undefined)?.encrypted === true },
  });
  const verify = (token: string, req: Req, source: Source): AuthContext<User> | HttpRefusal | Promise<HttpOutcome<User>> => {
    const auth = verifyTokenNow(manager, readSync, token, options, dpop, proofOf, req);
    if (network === undefined) return auth instanceof Promise ? auth.catch(refuse) : auth;
    // The drift policy's network check (network.ts), once the token is verified.
    if (auth instanceof Promise) return auth.then((a) => (network(a.claims, source), a)).catch(refuse);
    try {
      network(auth.claims, source);
      return auth;
    } catch (thrown) {
      return refuse(thrown)!;
    }
  };
  return (req, source) => {
    try {
      if (req === null || typeof req !== 'object') throw AuthError.config('httpAuth', 'req', 'an IncomingMessage');
      if (options.allowPreflight !== false && isPreflight(req)) return undefined;
      // The manager and the options were checked when the middleware or plugin was built: not again per request.
      if (getToken === undefined) {
        const token = httpToken(req.headers, req.rawHeaders, options);
        return token === undefined ? missing() : verify(token, req, source);
      }
      const token = tokenFrom(getToken, source);
      return typeof token === 'string' ? verify(token, req, source) : token.then((found) => verify(found, req, source)).catch(refuse);
    } catch (thrown) {
      return refuse(thrown);
    }
  };
}

/** Hands an outcome to Express: `req.auth` and next(), or the refusal written out. */
function answer<Req extends IncomingMessage, User extends ProvisionedUser>(req: Req, res: ServerResponse, next: (err?: unknown) => void, outcome: HttpOutcome<User>): void {
  try {
    if (outcome instanceof HttpRefusal) {
      const { status, headers, body } = outcome.failure;
      res.statusCode = status;
      for (const name in headers) res.setHeader(name, headers[name]!);
      res.end(JSON.stringify(body));
      return;
    }
    if (outcome !== undefined) (req as AuthenticatedRequest<Req, User>).auth = outcome;
    next();
  } catch (error) {
    // A failing response write (or next()), coded for the error handler.
    next(toAuthError(error));
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
  options: HttpAuthNetworkOptions<User, Req> = {},
): (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void {
  checkVerifier('httpAuth', 'manager', manager);
  checkHttpOptions('httpAuth', options);
  const check = httpCheck<User, Req, Req>(manager, options, options.getToken, networkCheck('httpAuth', manager, options.network));
  return (req, res, next) => {
    if (typeof next !== 'function') throw AuthError.config('httpAuth middleware', 'next', 'a function');
    const outcome = check(req, req);
    if (outcome instanceof Promise) void outcome.then((settled) => answer(req, res, next, settled));
    else answer(req, res, next, outcome);
  };
}

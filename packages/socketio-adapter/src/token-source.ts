import type { IncomingHttpHeaders } from 'node:http';
import { AuthError, toAuthError } from './errors.js';
import { checkAuthenticateOptions } from './options.js';

/** Reading the token from a cookie is opt-in: browsers attach cookies to cross-site WebSocket handshakes. */
export interface CookieTokenOptions {
  /** The cookie's name. */
  name: string;
  /**
   * Exact `Origin` values (scheme://host[:port]) allowed to authenticate with the
   * cookie, or a predicate. A request without an Origin is refused too:
   * browsers always send one on WebSocket handshakes and cross-site requests.
   */
  allowedOrigins: readonly string[] | ((origin: string) => boolean);
}

export interface TokenSourceOptions {
  /** @default undefined: cookies are ignored */
  cookie?: CookieTokenOptions;
}

/** What a token is extracted from: a Socket.IO handshake or an HTTP request. */
export interface TokenRequest {
  /** The handshake's `auth` payload (Socket.IO only). */
  auth?: unknown;
  headers: IncomingHttpHeaders;
  /** Node's raw header list; the only place where a repeated Authorization header is still visible. */
  rawHeaders?: readonly string[];
}

export type TokenSource = 'auth' | 'header' | 'cookie';

const BEARER = /^(?:Bearer|DPoP) +(\S+) *$/i;
/** `Bearer`, or `DPoP` (RFC 9449 §7.1: a bound token's scheme, the same token68 syntax). */
const SCHEME = /^(?:Bearer|DPoP)(?: |$)/i;
/**
 * RFC 6750 §2.1: `Bearer 1*SP b64token` (trailing spaces tolerated), in one
 * pass: a non-space run checked as a b64token afterwards cost a second scan
 * of a 400-character token on every request. Without the `u` flag, `i` never
 * folds a non-ASCII character into the ASCII class (ECMA-262 Canonicalize).
 */
const BEARER_TOKEN = /^(?:Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Strips an optional `Bearer ` (or `DPoP `) prefix that some clients put in `auth.token` too. */
function fromAuthPayload(auth: unknown): string | undefined {
  if (auth === null || typeof auth !== 'object') return undefined;
  const value = (auth as Record<string, unknown>).token;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AuthError('ERR_AUTH_TOKEN_INVALID', undefined, 'malformed');
  const match = BEARER.exec(value);
  return match ? match[1]! : value;
}

function countAuthorization(rawHeaders: unknown): number {
  if (rawHeaders === undefined) return 0;
  if (!Array.isArray(rawHeaders)) throw new AuthError('ERR_AUTH_HEADER_MALFORMED');
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name: unknown = rawHeaders[i];
    // The length first: no lower-cased copy of every other header name.
    if (typeof name === 'string' && name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function fromHeader(headers: IncomingHttpHeaders, rawHeaders: unknown): string | undefined {
  // Node keeps only the first of repeated Authorization headers in `headers`; a
  // proxy and a client disagreeing on which one counts is an attack surface.
  if (countAuthorization(rawHeaders) > 1) throw new AuthError('ERR_AUTH_HEADER_MALFORMED', undefined, 'duplicate_authorization');
  const value: unknown = headers.authorization;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new AuthError('ERR_AUTH_HEADER_MALFORMED');
  // Another scheme (Basic, …) is not ours to judge: the request simply carries no bearer token.
  if (!SCHEME.test(value)) return undefined;
  const match = BEARER_TOKEN.exec(value);
  if (match === null) throw new AuthError('ERR_AUTH_HEADER_MALFORMED');
  return match[1]!;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

function originAllowed(origin: string | undefined, allowed: CookieTokenOptions['allowedOrigins']): boolean {
  if (origin === undefined || origin === '' || origin === 'null') return false;
  return typeof allowed === 'function' ? allowed(origin) === true : allowed.includes(origin);
}

/**
 * Finds the access token: handshake `auth.token`, then `Authorization: Bearer`,
 * then the configured cookie (from an allowed Origin only). Never the query
 * string: URLs end up in access logs, proxies and browser history.
 */
export function extractToken(request: TokenRequest, options: TokenSourceOptions = {}): { token: string; source: TokenSource } {
  checkAuthenticateOptions('extractToken', options);
  if (request === null || typeof request !== 'object') throw AuthError.config('extractToken', 'request', 'an object { auth?, headers, rawHeaders? }');
  return findToken(request, options);
}

/** {@link extractToken} for callers that checked the options when they were built (the middlewares, the guard). */
export function findToken(request: TokenRequest, options: TokenSourceOptions): { token: string; source: TokenSource } {
  try {
    return find(request, options);
  } catch (error) {
    // A getter on the request, or an allowedOrigins predicate (caller code), may throw anything.
    throw toAuthError(error);
  }
}

function find(request: TokenRequest, options: TokenSourceOptions): { token: string; source: TokenSource } {
  const fromAuth = fromAuthPayload(request.auth);
  if (fromAuth !== undefined) return { token: fromAuth, source: 'auth' };
  const headers: unknown = request.headers;
  if (headers === null || typeof headers !== 'object') throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
  const fromBearer = fromHeader(headers as IncomingHttpHeaders, request.rawHeaders);
  if (fromBearer !== undefined) return { token: fromBearer, source: 'header' };
  const fromCookie = cookieToken(headers as IncomingHttpHeaders, options.cookie);
  if (fromCookie !== undefined) return { token: fromCookie, source: 'cookie' };
  throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
}

/**
 * {@link findToken} for an HTTP request (no handshake payload), the token
 * alone: no request or result object per request, and `undefined` when the
 * request carries none (not an error: building one costs a stack trace, and
 * requests without a token are common). Throws an {@link AuthError}, or what
 * a getter on the headers threw.
 */
export function httpToken(headers: unknown, rawHeaders: unknown, options: TokenSourceOptions): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  return fromHeader(headers as IncomingHttpHeaders, rawHeaders) ?? cookieToken(headers as IncomingHttpHeaders, options.cookie);
}

function cookieToken(headers: IncomingHttpHeaders, cookie: CookieTokenOptions | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  const value = cookieValue(cookieHeader(headers.cookie), cookie.name);
  if (value === undefined || value === '') return undefined;
  const origin = headers.origin;
  if (!originAllowed(typeof origin === 'string' ? origin : undefined, cookie.allowedOrigins)) throw new AuthError('ERR_ORIGIN_NOT_ALLOWED');
  return value;
}

/** Node gives a string; a framework or a caller may give an array; anything else is a malformed request. */
function cookieHeader(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw) && raw.every((part) => typeof part === 'string')) return raw.join('; ');
  throw new AuthError('ERR_AUTH_HEADER_MALFORMED', undefined, 'cookie_header');
}

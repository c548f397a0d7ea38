import type { DeviceInput, JwtUserSessionManager } from '@jwt-session/session-core';
import type { EndpointRequest } from './request.js';
import { deviceInput } from './device.js';
import { normalizeDpop, type DpopEndpointOptions, type NormalizedDpop } from './dpop.js';
import { SessionHttpError } from './errors.js';
import { normalizeRevocationLog, type NormalizedRevocationLog, type RevocationLogOptions } from './revocations.js';

/** What the endpoints call on the manager; a `JwtUserSessionManager` is one. */
export type SessionManagerLike = Pick<JwtUserSessionManager, 'create' | 'update' | 'read' | 'readAll' | 'deleteOne' | 'deleteAll' | 'deleteOthers'> &
  // Optional: only `reauthenticateSession` calls it (a manager without it answers 500 there, and serves everything else).
  Partial<Pick<JwtUserSessionManager, 'reauthenticate'>>;

export type CookiePrefix = '__Host-' | '__Secure-';

/** The refresh cookie's attributes. */
export interface RefreshCookieOptions {
  /** Name without prefix. @default 'jwt-session-refresh' */
  name?: string;
  /**
   * Prefix used when the cookie is Secure. `'auto'`: `__Host-` when `path` is
   * `/` and no `domain` is set (browsers refuse `__Host-` cookies otherwise),
   * else `__Secure-`. Never used on a cookie that is not Secure.
   * @default 'auto'
   */
  prefix?: 'auto' | 'none' | CookiePrefix;
  /** @default the endpoints' `basePath`, so only they receive the cookie */
  path?: string;
  /** @default none: a host-only cookie */
  domain?: string;
  /** @default 'Strict' */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** `'auto'`: when the request came over https (directly, or per a trusted proxy). @default 'auto' */
  secure?: boolean | 'auto';
  /** @default true */
  httpOnly?: boolean;
  /** `Max-Age` up to the session's refresh deadline; false makes a browser-session cookie. @default true */
  persistent?: boolean;
}

/** Options of the session endpoints, for Express and Fastify alike. */
export interface SessionEndpointsOptions {
  /** Where the endpoints live. @default '/auth' */
  basePath?: string;
  cookie?: RefreshCookieOptions;
  /**
   * Origins (`scheme://host[:port]`) besides the request's own that may call
   * the state-changing endpoints, or a predicate. @default []
   */
  allowedOrigins?: readonly string[] | ((origin: string) => boolean);
  /** The header every state-changing request must carry with the value `1`. @default 'x-jwt-session' */
  csrfHeader?: string;
  /**
   * Refuse state-changing requests that carry neither `Origin` nor
   * `Sec-Fetch-Site`. Browsers send one of them on every such request, so by
   * default their absence means a non-browser client, which CSRF cannot
   * involve; the custom header is required either way. @default false
   */
  requireOrigin?: boolean;
  /**
   * Whether `X-Forwarded-For` / `-Proto` / `-Host` are believed: `false` (the
   * socket's own address and TLS state), `true` (the left-most entries), or the
   * number of proxies in front of the app (the address that many hops from the
   * right). Independent of Express's and Fastify's own setting. @default false
   */
  trustProxy?: boolean | number;
  /**
   * Called, for your logs, with what a manager call threw whenever it became
   * an error answer: a `SessionError` whose `reason` says why a token or a
   * refresh token was refused (401) or a store failed (503), and the error
   * behind each 500. The client only ever sees the code and its fixed text.
   * @default none
   */
  onError?: (error: unknown) => void;
  /**
   * DPoP (RFC 9449): sign-in and refresh accept a `DPoP` proof; a session
   * signed in with one is bound to the client's key, and its refresh cookie
   * works only with proofs by that key. See the README's DPoP section.
   * @default off: proofs are ignored, sessions unbound (a bound one is still refused without its key)
   */
  dpop?: DpopEndpointOptions;
  /**
   * Serves `GET {base}/revocations`, the broadcaster's log, to pollers holding
   * the shared secret (`PollingInvalidationBroadcaster` in a Worker).
   * @default none: the route does not exist
   */
  revocations?: RevocationLogOptions;
  /**
   * The client's device, for the manager's `deviceHistory` and `drift`: given
   * to create() at sign-in (`issueSession`) and to update() at every refresh.
   * Compute `network` exactly as the guards' `network` option does (the /24
   * or /48 prefix of the client's address, or its ASN): under `drift:
   * 'refresh'` a refresh without it would issue a token for the old network,
   * which the guards keep refusing. `undefined` for a request: no device.
   * `true`: what the request shows — `describeDevice` of its `User-Agent`
   * and `networkOf` its address (its /24 or /48; with `trustProxy`, the
   * forwarded one).
   * @default none
   */
  device?: true | ((req: EndpointRequest) => DeviceInput | undefined);
}

export interface NormalizedCookie {
  name: string;
  prefix: 'auto' | 'none' | CookiePrefix;
  path: string;
  domain: string | undefined;
  sameSite: 'Strict' | 'Lax' | 'None';
  secure: boolean | 'auto';
  httpOnly: boolean;
  persistent: boolean;
}

export interface NormalizedOptions {
  basePath: string;
  cookie: NormalizedCookie;
  allowedOrigins: (origin: string) => boolean;
  csrfHeader: string;
  requireOrigin: boolean;
  trustProxy: boolean | number;
  onError: ((error: unknown) => void) | undefined;
  dpop: NormalizedDpop | undefined;
  revocations: NormalizedRevocationLog | undefined;
  device: ((req: EndpointRequest) => DeviceInput | undefined) | undefined;
}

const MANAGER_METHODS = ['create', 'update', 'read', 'readAll', 'deleteOne', 'deleteAll', 'deleteOthers'] as const;
/** RFC 7230 token: header names and cookie names. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A path without ; , whitespace, controls, query or fragment. */
const PATH = /^\/[\x21-\x7e]*$/;
const BAD_PATH_CHARS = /[;,?#\\]/;
const DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const ORIGIN = /^https?:\/\/[^/?#\s]+$/;

const OPTION_NAMES = new Set(['basePath', 'cookie', 'allowedOrigins', 'csrfHeader', 'requireOrigin', 'trustProxy', 'onError', 'dpop', 'revocations', 'device']);
const COOKIE_OPTION_NAMES = new Set(['name', 'prefix', 'path', 'domain', 'sameSite', 'secure', 'httpOnly', 'persistent']);

function fail(name: string, message: string): never {
  throw new SessionHttpError('ERR_CONFIG_INVALID', `${name} ${message}`);
}

/**
 * Runs an options check so that whatever it meets (a Proxy, a getter that
 * throws) ends as ERR_CONFIG_INVALID, never as a raw TypeError out of
 * `sessionRouter` or `sessionRoutes`; as session-core's managers do.
 */
export function configChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof SessionHttpError) throw error;
    throw new SessionHttpError('ERR_CONFIG_INVALID', 'options could not be read', { cause: error });
  }
}

/** An option name is quoted back only when it looks like one: the caller's text never reaches a message otherwise. */
const QUOTABLE_KEY = /^[A-Za-z_$][\w$]{0,40}$/;

function oneOf<T>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return value as T;
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, 'must be a boolean');
  return value;
}

/** A misspelt option (`samesite`, `trustproxy`) would otherwise leave a default silently in force. */
function refuseUnknown(options: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      if (QUOTABLE_KEY.test(key)) fail(`${path}.${key}`, 'is not an option');
      fail(path, 'holds an unknown option');
    }
  }
}

/** Checks a manager once, at construction: a missing one fails here, not on the first request. */
export function checkManager(manager: unknown, name = 'manager'): SessionManagerLike {
  return configChecked(() => checkManagerShape(manager, name));
}

function checkManagerShape(manager: unknown, name: string): SessionManagerLike {
  if (manager === null || typeof manager !== 'object') fail(name, 'is required (a JwtUserSessionManager)');
  for (const method of MANAGER_METHODS) {
    if (typeof (manager as Record<string, unknown>)[method] !== 'function') fail(name, `must implement ${method}() (a JwtUserSessionManager)`);
  }
  return manager as SessionManagerLike;
}

function normalizeBasePath(value: unknown): string {
  if (value === undefined) return '/auth';
  if (typeof value !== 'string' || !PATH.test(value) || BAD_PATH_CHARS.test(value) || value.includes('//')) {
    fail('options.basePath', 'must be a path starting with "/" (no query, fragment, ";" or ",")');
  }
  // "/" and "/auth/" mean "" and "/auth": routes are appended as "/refresh" …
  return value.replace(/\/+$/, '');
}

function normalizeCookie(input: unknown, basePath: string): NormalizedCookie {
  if (input !== undefined && (input === null || typeof input !== 'object')) fail('options.cookie', 'must be an object');
  const c = (input ?? {}) as Record<string, unknown>;
  refuseUnknown(c, COOKIE_OPTION_NAMES, 'options.cookie');
  const name = c.name ?? 'jwt-session-refresh';
  if (typeof name !== 'string' || !TOKEN.test(name)) fail('options.cookie.name', 'must be a non-empty cookie name (RFC 6265 token characters)');
  if (/^__(host|secure)-/i.test(name)) fail('options.cookie.name', 'must not carry a prefix; set options.cookie.prefix');
  const path = c.path ?? (basePath === '' ? '/' : basePath);
  if (typeof path !== 'string' || !PATH.test(path) || BAD_PATH_CHARS.test(path)) fail('options.cookie.path', 'must be a path starting with "/" (no ";" or ",")');
  const domain = c.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) fail('options.cookie.domain', 'must be a domain name');
  const sameSite = oneOf(c.sameSite, 'options.cookie.sameSite', ['Strict', 'Lax', 'None'] as const, 'Strict');
  const secure = oneOf(c.secure, 'options.cookie.secure', [true, false, 'auto'] as const, 'auto');
  const prefix = oneOf(c.prefix, 'options.cookie.prefix', ['auto', 'none', '__Host-', '__Secure-'] as const, 'auto');
  if (prefix === '__Host-' && (path !== '/' || domain !== undefined)) fail('options.cookie.prefix', '"__Host-" requires cookie.path "/" and no cookie.domain (browsers refuse it otherwise)');
  if (prefix !== 'auto' && prefix !== 'none' && secure === false) fail('options.cookie.prefix', `"${prefix}" requires a Secure cookie (cookie.secure must not be false)`);
  if (sameSite === 'None' && secure === false) fail('options.cookie.sameSite', '"None" requires a Secure cookie (cookie.secure must not be false)');
  return {
    name,
    prefix,
    path,
    domain: domain as string | undefined,
    sameSite,
    secure,
    httpOnly: bool(c.httpOnly, 'options.cookie.httpOnly', true),
    persistent: bool(c.persistent, 'options.cookie.persistent', true),
  };
}

function normalizeOrigins(value: unknown): (origin: string) => boolean {
  if (value === undefined) return () => false;
  if (typeof value === 'function') return (origin) => (value as (origin: string) => unknown)(origin) === true;
  if (!Array.isArray(value)) fail('options.allowedOrigins', 'must be an array of origins or a function');
  const set = new Set<string>();
  for (const origin of value) {
    if (typeof origin !== 'string' || !ORIGIN.test(origin)) fail('options.allowedOrigins', 'must hold origins such as "https://app.example.com" (scheme://host[:port], no path)');
    set.add(origin.toLowerCase());
  }
  return (origin) => set.has(origin.toLowerCase());
}

/** `mountPrefix`: the path the framework puts before `basePath` (a Fastify scope's prefix), for the cookie's Path. */
export function normalizeOptions(input: unknown, mountPrefix = ''): NormalizedOptions {
  return configChecked(() => normalizeOptionsUnchecked(input, mountPrefix));
}

function normalizeOptionsUnchecked(input: unknown, mountPrefix: string): NormalizedOptions {
  if (input !== undefined && (input === null || typeof input !== 'object')) fail('options', 'must be an object');
  const o = (input ?? {}) as Record<string, unknown>;
  refuseUnknown(o, OPTION_NAMES, 'options');
  const basePath = mountPrefix.replace(/\/+$/, '') + normalizeBasePath(o.basePath);
  const csrfHeader = o.csrfHeader ?? 'x-jwt-session';
  if (typeof csrfHeader !== 'string' || !TOKEN.test(csrfHeader)) fail('options.csrfHeader', 'must be a header name');
  const trustProxy = o.trustProxy ?? false;
  if (typeof trustProxy !== 'boolean' && !(typeof trustProxy === 'number' && Number.isSafeInteger(trustProxy) && trustProxy >= 1)) {
    fail('options.trustProxy', 'must be a boolean or the number of proxies in front of the app (an integer >= 1)');
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') fail('options.onError', 'must be a function');
  if (o.device !== undefined && o.device !== true && typeof o.device !== 'function') fail('options.device', 'must be true or a function (req) => { summary, network } | undefined');
  return {
    basePath,
    cookie: normalizeCookie(o.cookie, basePath),
    allowedOrigins: normalizeOrigins(o.allowedOrigins),
    csrfHeader: csrfHeader.toLowerCase(),
    requireOrigin: bool(o.requireOrigin, 'options.requireOrigin', false),
    trustProxy,
    onError: o.onError as ((error: unknown) => void) | undefined,
    dpop: normalizeDpop(o.dpop),
    revocations: normalizeRevocationLog(o.revocations),
    device: o.device === true ? (req: EndpointRequest) => deviceInput(req, trustProxy) : (o.device as NormalizedOptions['device']),
  };
}

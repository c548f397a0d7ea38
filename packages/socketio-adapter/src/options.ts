import type { SessionVerifier } from '@jwt-session/session-core';
import { checkDpopOptions } from './dpop.js';
import { AuthError } from './errors.js';

/*
 * Options are checked once, when a middleware, plugin or guard is built, and
 * a bad one is an ERR_CONFIG_INVALID naming it: not a 500 on the first
 * request. Reading a field may run a getter, which may throw; that too is the
 * option's fault.
 */

type Check = (value: unknown) => boolean;

const isFunction: Check = (v) => typeof v === 'function';
const isString: Check = (v) => typeof v === 'string';
const isBoolean: Check = (v) => typeof v === 'boolean';
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
const isPositive: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
/** RFC 6265 cookie-name: a token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^`|~\w]+$/;

/** Reads `object[key]`, turning a throwing getter into the option's error. */
function field(where: string, path: string, object: Record<string, unknown>, key: string): unknown {
  try {
    return object[key];
  } catch {
    throw AuthError.config(where, path, 'readable');
  }
}

function expect(where: string, path: string, value: unknown, check: Check, expected: string): void {
  if (value !== undefined && !check(value)) throw AuthError.config(where, path, expected);
}

function objectWith(where: string, path: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  const expected = `an object with ${methods.map((m) => `${m}()`).join(' and ')}`;
  if (!isObject(value)) throw AuthError.config(where, path, expected);
  for (const method of methods) if (!isFunction(field(where, `${path}.${method}`, value, method))) throw AuthError.config(where, path, expected);
}

/** The verifier (or manager) every guard takes. */
export function checkVerifier(where: string, name: string, value: unknown): asserts value is SessionVerifier {
  if (value === undefined) throw AuthError.config(where, name, 'given (a JwtUserSessionManager or another SessionVerifier)');
  objectWith(where, name, value, ['read', 'isRevoked', 'on', 'off']);
}

function checkCookie(where: string, cookie: unknown): void {
  if (cookie === undefined) return;
  if (!isObject(cookie)) throw AuthError.config(where, 'cookie', 'an object { name, allowedOrigins }');
  const name = field(where, 'cookie.name', cookie, 'name');
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw AuthError.config(where, 'cookie.name', 'a cookie name');
  const allowed = field(where, 'cookie.allowedOrigins', cookie, 'allowedOrigins');
  if (!(typeof allowed === 'function' || (Array.isArray(allowed) && allowed.every(isString)))) {
    throw AuthError.config(where, 'cookie.allowedOrigins', 'an array of origins or a function');
  }
}

/** Fields of every authenticating option set: the token sources and provisioning. */
export function checkAuthenticateOptions(where: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isObject(options)) throw AuthError.config(where, 'options', 'an object');
  checkCookie(where, field(where, 'cookie', options, 'cookie'));
  objectWith(where, 'users', field(where, 'users', options, 'users'), ['findOrCreate']);
  expect(where, 'onError', field(where, 'onError', options, 'onError'), isFunction, 'a function');
  return options;
}

/*
 * The names each option set knows. An option another library has (express-jwt's
 * `secret`, `algorithms`, `isRevoked`, …) or a misspelt one would otherwise be
 * silently ignored, leaving a default in force: each is refused instead.
 * test/options.test.ts checks these lists against the option interfaces.
 */
const AUTHENTICATE_OPTION_NAMES = ['cookie', 'users', 'onError'] as const;
export const SOCKET_OPTION_NAMES = [...AUTHENTICATE_OPTION_NAMES, 'sessions', 'userRoomPrefix', 'sessionRoomPrefix', 'dpop', 'trustProxy'] as const;
export const GUARD_OPTION_NAMES = [...SOCKET_OPTION_NAMES, 'namespaces', 'clock', 'scheduler', 'renewRateLimit', 'telemetry'] as const;
export const HTTP_OPTION_NAMES = [...AUTHENTICATE_OPTION_NAMES, 'realm', 'credentialsRequired', 'getToken', 'allowPreflight', 'dpop', 'trustProxy', 'network'] as const;

/** Where an option from another JWT middleware went here: said in the refusal. */
const MOVED: Record<string, string> = {
  secret: 'keys and algorithms are the manager\'s (JwtUserSessionManager or JwtSessionVerifier options)',
  algorithms: 'keys and algorithms are the manager\'s (JwtUserSessionManager or JwtSessionVerifier options)',
  issuer: 'the issuer and audience are the manager\'s',
  audience: 'the issuer and audience are the manager\'s',
  isRevoked: 'revocation is the manager\'s: every verification checks it',
  requestProperty: 'the verified context is always `auth`',
  onExpired: 'an expired token is refused with ERR_AUTH_TOKEN_EXPIRED',
};

/** An option name is quoted back only when it looks like one: the caller's text never reaches a message otherwise. */
const QUOTABLE = /^[A-Za-z_$][\w$]{0,40}$/;

/** Refuses any own enumerable key not in `known` (plus `extra`: a framework's own, such as Fastify's `prefix`). */
export function refuseUnknownOptions(where: string, options: Record<string, unknown>, known: readonly string[], extra: readonly string[] = []): void {
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch {
    throw AuthError.config(where, 'options', 'readable');
  }
  for (const key of keys) {
    if (known.includes(key) || extra.includes(key)) continue;
    const error = new AuthError('ERR_CONFIG_INVALID');
    const hint = Object.hasOwn(MOVED, key) ? ` (${MOVED[key]})` : '';
    error.message = QUOTABLE.test(key) ? `${where}: ${key} is not an option${hint}` : `${where}: options hold an unknown option`;
    throw error;
  }
}

function checkSocketFields(where: string, checked: Record<string, unknown>): void {
  checkDpopOptions(where, checked);
  objectWith(where, 'sessions', field(where, 'sessions', checked, 'sessions'), ['registerSocket', 'unregisterSocket']);
  for (const key of ['userRoomPrefix', 'sessionRoomPrefix']) expect(where, key, field(where, key, checked, key), isString, 'a string');
}

/** socketAuth's options. */
export function checkSocketOptions(where: string, options: unknown): Record<string, unknown> {
  const checked = checkAuthenticateOptions(where, options);
  refuseUnknownOptions(where, checked, SOCKET_OPTION_NAMES);
  checkSocketFields(where, checked);
  return checked;
}

/** attachSessionGuard's options: socketAuth's and its own. */
export function checkGuardOptions(where: string, options: unknown): Record<string, unknown> {
  const checked = checkAuthenticateOptions(where, options);
  refuseUnknownOptions(where, checked, GUARD_OPTION_NAMES);
  checkSocketFields(where, checked);
  expect(where, 'clock', field(where, 'clock', checked, 'clock'), isFunction, 'a function');
  objectWith(where, 'scheduler', field(where, 'scheduler', checked, 'scheduler'), ['setTimeout', 'clearTimeout']);
  const limit = field(where, 'renewRateLimit', checked, 'renewRateLimit');
  if (limit !== undefined) {
    const expected = '{ max, windowMs, perLifetime? } with a whole max ≥ 1, a positive windowMs and perLifetime';
    if (!isObject(limit)) throw AuthError.config(where, 'renewRateLimit', expected);
    const max = field(where, 'renewRateLimit.max', limit, 'max');
    const windowMs = field(where, 'renewRateLimit.windowMs', limit, 'windowMs');
    const perLifetime = field(where, 'renewRateLimit.perLifetime', limit, 'perLifetime');
    if (!Number.isSafeInteger(max) || (max as number) < 1 || !isPositive(windowMs) || (perLifetime !== undefined && !isPositive(perLifetime))) {
      throw AuthError.config(where, 'renewRateLimit', expected);
    }
  }
  const telemetry = field(where, 'telemetry', checked, 'telemetry');
  if (telemetry !== undefined && telemetry !== false) {
    const provider = (name: string, method: string) => {
      const value = isObject(telemetry) ? field(where, `telemetry.${name}`, telemetry, name) : undefined;
      return value === undefined || (isObject(value) && isFunction((value as Record<string, unknown>)[method]));
    };
    if (!isObject(telemetry) || !provider('meterProvider', 'getMeter') || !provider('tracerProvider', 'getTracer')) {
      throw AuthError.config(where, 'telemetry', 'false or { meterProvider?, tracerProvider? } (OpenTelemetry providers)');
    }
  }
  const namespaces = field(where, 'namespaces', checked, 'namespaces');
  if (namespaces !== undefined && !(namespaces instanceof RegExp || isFunction(namespaces) || (Array.isArray(namespaces) && namespaces.every(isString)))) {
    throw AuthError.config(where, 'namespaces', 'an array of namespace names, a RegExp or a function');
  }
  return checked;
}

/** httpAuth's, the Fastify plugin's and the Hono middleware's options; `extra`: names the adapter itself takes (`manager`, …). */
export function checkHttpOptions(where: string, options: unknown, extra: readonly string[] = []): Record<string, unknown> {
  const checked = checkAuthenticateOptions(where, options);
  refuseUnknownOptions(where, checked, HTTP_OPTION_NAMES, extra);
  expect(where, 'realm', field(where, 'realm', checked, 'realm'), isString, 'a string');
  expect(where, 'getToken', field(where, 'getToken', checked, 'getToken'), isFunction, 'a function');
  expect(where, 'network', field(where, 'network', checked, 'network'), isFunction, 'a function (req) => string');
  for (const key of ['credentialsRequired', 'allowPreflight']) expect(where, key, field(where, key, checked, key), isBoolean, 'a boolean');
  checkDpopOptions(where, checked);
  return checked;
}

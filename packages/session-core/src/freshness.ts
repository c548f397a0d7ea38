import { SessionError, isSessionError, type SessionErrorReason } from './errors.js';
import { recordedJkt } from './dpop/binding.js';
import { MAX_CONTEXT_BYTES } from './lib/claims.js';
import type { SessionContext } from './types.js';

/*
 * How and when the user last proved who they are (RFC 9068 §2.2.1, OpenID
 * Connect Core §2: `auth_time`, `amr`, `acr`), and the step-up rule that reads
 * it (RFC 9470).
 *
 * Where it is kept: nowhere, for a sign-in that says nothing of it — its
 * authentication is its creation, and `auth_time` is the session's
 * `createdAt` (no bytes per session: bench case 8). Otherwise in the
 * session's stored context under one reserved name,
 * AUTHENTICATION_CONTEXT_KEY. Not in the stored claims, as the DPoP binding
 * is (dpop/binding.ts): `update({ claims })` replaces the stored claims
 * whole, and the manager cannot know them before the store's atomic
 * rotation, so a claims update would drop the authentication with them —
 * while every store merges context name by name on rotation (memory,
 * Redis's Lua, PostgreSQL's jsonb ||). So a refresh keeps it whatever it
 * updates, and `reauthenticate` replaces it in the same atomic step that
 * rotates the refresh token. Every store already keeps context: no schema
 * change. The access token gets the three claims when it is issued
 * ({@link authenticationJson}); callers can set neither the claims
 * (RESERVED_CLAIMS) nor the context name ({@link checkCallerContext}).
 *
 * Times: `authTime` is given, and `auth_time` carried, in Unix seconds — the
 * unit of every time in this library's public API (`exp`,
 * `accessTokenExpiresAt`, `readAll`), and of the NumericDate the claim is.
 */

/** The context name the authentication is kept under. Callers' contexts may not use it. */
export const AUTHENTICATION_CONTEXT_KEY = 'authentication';

/** Most `amr` values accepted (RFC 8176 lists 22 in all; a real sign-in combines two or three). */
export const MAX_AMR_VALUES = 16;
/**
 * An `amr` or `acr` value: printable ASCII without space, `"` or `\` — it may go into a `WWW-Authenticate`
 * quoted string, space-separated (RFC 9470 §3 `acr_values`). At most 64 characters (RFC 8176's are 2–5; an
 * `acr` URN fits): the whole record stays far under the context's budget.
 */
const VALUE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** How the session's user last authenticated, as stored and as the access token carries it. */
export interface StoredAuthentication {
  /** Unix seconds. */
  auth_time: number;
  amr?: string[];
  acr?: string;
}

/** `create(subject, { authTime, amr, acr })` and `reauthenticate(...)`: how the user just authenticated. */
export interface AuthenticationInput {
  /** When, in Unix seconds (may be fractional; rounded down). Not later than now (plus the clock tolerance). @default now */
  authTime?: number | undefined;
  /** RFC 8176 method references: `['pwd']`, `['pwd', 'otp']`, `['hwk', 'user']`. @default none */
  amr?: readonly string[] | undefined;
  /** The authentication context class reference (`'urn:example:loa:2'`, `'phr'`). @default none */
  acr?: string | undefined;
}

/** What a fresh authentication is required to be: see {@link checkFreshness}. */
export interface FreshnessRequirement {
  /** Seconds: `auth_time` must be at most this long ago (RFC 9470 `max_age`). */
  maxAge: number;
  /** The acceptable `acr` values, any one of them (RFC 9470 `acr_values`). @default any (or none) */
  acr?: readonly string[] | undefined;
  /** Methods the `amr` must all contain (`['otp']`: a second factor). @default any (or none) */
  amr?: readonly string[] | undefined;
}

function input(message: string): SessionError {
  return new SessionError('ERR_CLAIMS_INVALID', message, undefined, 'input');
}

function values(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_AMR_VALUES) throw input(`${name} must be an array of at most ${MAX_AMR_VALUES} strings`);
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string' || !VALUE.test(item)) throw input(`${name} must hold printable ASCII strings without spaces or quotes`);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

/**
 * The stored authentication of `input` at `now` (ms), checked. `authTime` in
 * the future (beyond `tolerance` seconds) is refused: a session stamped
 * "authenticated tomorrow" would stay fresh for a day.
 */
export function authenticationOf({ authTime, amr, acr }: { authTime: unknown; amr: unknown; acr: unknown }, now: number, tolerance: number): StoredAuthentication {
  const nowSeconds = Math.floor(now / 1000);
  let time = nowSeconds;
  if (authTime !== undefined) {
    if (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime < 0) throw input('options.authTime must be Unix seconds');
    time = Math.floor(authTime);
    if (time > nowSeconds + tolerance) throw input('options.authTime must not be in the future');
  }
  const stored: StoredAuthentication = { auth_time: Math.min(time, nowSeconds) };
  if (amr !== undefined) {
    const list = values(amr, 'options.amr');
    if (list.length > 0) stored.amr = list;
  }
  if (acr !== undefined) {
    if (typeof acr !== 'string' || !VALUE.test(acr)) throw input('options.acr must be printable ASCII without spaces or quotes');
    stored.acr = acr;
  }
  return stored;
}

/**
 * What create() stamps: nothing when the caller says nothing of the authentication (it is then the session's
 * creation: no bytes stored, see {@link authenticationJson}), else {@link authenticationOf}.
 */
export function createAuthentication(call: { authTime: unknown; amr: unknown; acr: unknown }, now: number, tolerance: number): StoredAuthentication | undefined {
  if (call.authTime === undefined && call.amr === undefined && call.acr === undefined) return undefined;
  return authenticationOf(call, now, tolerance);
}

/** The caller's context, refused when it uses the reserved name: only create() and reauthenticate() write it. */
export function checkCallerContext(context: SessionContext): SessionContext {
  if (Object.hasOwn(context, AUTHENTICATION_CONTEXT_KEY)) {
    throw new SessionError('ERR_CLAIMS_INVALID', `context.${AUTHENTICATION_CONTEXT_KEY} is reserved`, undefined, 'context');
  }
  return context;
}

/**
 * The context with the authentication stamped in (a new object). The caller's context was held to
 * MAX_CONTEXT_BYTES alone; with the stamp it must still fit, or the store would refuse it (a coded error
 * here, before anything is written, rather than a store's).
 */
export function withAuthentication(context: SessionContext, authentication: StoredAuthentication): SessionContext {
  const stamped = { ...context, [AUTHENTICATION_CONTEXT_KEY]: authentication as unknown as SessionContext[string] };
  // The common empty context cannot overflow (the stamp is at most ~1.2 kB): no JSON written for it.
  for (const _name in context) {
    if (Buffer.byteLength(JSON.stringify(stamped), 'utf8') > MAX_CONTEXT_BYTES) {
      throw new SessionError('ERR_CLAIMS_INVALID', `context must serialise to at most ${MAX_CONTEXT_BYTES} bytes with the authentication`, undefined, 'context');
    }
    break;
  }
  return stamped;
}

/** The stored authentication of a context, or undefined (none recorded: the session's creation is its authentication); never throws. */
export function storedAuthentication(context: SessionContext | undefined): StoredAuthentication | undefined {
  const a = context?.[AUTHENTICATION_CONTEXT_KEY] as Partial<StoredAuthentication> | null | undefined;
  if (a === null || typeof a !== 'object' || typeof a.auth_time !== 'number' || !Number.isFinite(a.auth_time)) return undefined;
  const out: StoredAuthentication = { auth_time: a.auth_time };
  if (Array.isArray(a.amr) && a.amr.every((v) => typeof v === 'string')) out.amr = [...a.amr];
  if (typeof a.acr === 'string') out.acr = a.acr;
  return out;
}

/** The context without the authentication: what `readAll` shows as `context` (the authentication has its own fields). */
export function contextWithoutAuthentication(context: SessionContext): SessionContext {
  if (!Object.hasOwn(context, AUTHENTICATION_CONTEXT_KEY)) return context;
  const { [AUTHENTICATION_CONTEXT_KEY]: _authentication, ...rest } = context;
  return rest;
}

const CLAIM_NAMES = ['auth_time', 'amr', 'acr'] as const;

/**
 * The claims an access token of the session carries besides its own, as JSON
 * members to append to its payload: `auth_time` — the stored one, or the
 * session's creation (a sign-in without an explicit authentication stamps
 * nothing: its authentication *is* its creation, and storing it would cost
 * every session bytes, bench case 8) — then `amr` and `acr` when recorded.
 * Text, not an object: this runs for every token issued (create, every
 * refresh), where a copy of the claims object costs more than the signature.
 */
export function authenticationJson(context: SessionContext | undefined, createdAt: number): string {
  const a = context?.[AUTHENTICATION_CONTEXT_KEY] as Partial<StoredAuthentication> | null | undefined;
  if (a === null || typeof a !== 'object' || typeof a.auth_time !== 'number' || !Number.isFinite(a.auth_time)) return `"auth_time":${Math.floor(createdAt / 1000)}`;
  let text = `"auth_time":${a.auth_time}`;
  if (Array.isArray(a.amr)) text += `,"amr":${JSON.stringify(a.amr)}`;
  if (typeof a.acr === 'string') text += `,"acr":${JSON.stringify(a.acr)}`;
  return text;
}

/** The claims without `auth_time`, `amr`, `acr` (a store handed back claims the manager never lets in); the same object without them. */
export function withoutAuthenticationClaims(claims: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(claims, 'auth_time') && !Object.hasOwn(claims, 'amr') && !Object.hasOwn(claims, 'acr')) return claims;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(claims)) {
    if ((CLAIM_NAMES as readonly string[]).includes(name)) continue;
    if (name === '__proto__') Object.defineProperty(out, name, { value: claims[name], enumerable: true, writable: true, configurable: true });
    else out[name] = claims[name];
  }
  return out;
}

/** RFC 9470 §3 names the challenge's parameters; the seconds and classes come from the requirement. */
const NOT_FRESH: Readonly<Record<'auth_time' | 'stale' | 'acr' | 'amr', SessionErrorReason>> = { auth_time: 'auth_time', stale: 'stale', acr: 'acr', amr: 'amr' };

function notFresh(reason: SessionErrorReason): SessionError {
  return new SessionError('ERR_AUTH_NOT_FRESH', undefined, undefined, reason);
}

/**
 * A {@link FreshnessRequirement}, checked once (a guard's construction):
 * ERR_CONFIG_INVALID naming the option otherwise. `name` is the caller's
 * (`requireFresh`), for the message.
 */
export function checkFreshnessRequirement(requirement: unknown, name = 'requireFresh'): Readonly<FreshnessRequirement> {
  try {
    if (requirement === null || typeof requirement !== 'object') throw new SessionError('ERR_CONFIG_INVALID', `${name}: options must be an object`, undefined, 'option');
    const { maxAge, acr, amr } = requirement as FreshnessRequirement;
    if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0) {
      throw new SessionError('ERR_CONFIG_INVALID', `${name}: options.maxAge must be a whole number of seconds (>= 0)`, undefined, 'option');
    }
    const out: FreshnessRequirement = { maxAge };
    for (const [key, list] of [['acr', acr], ['amr', amr]] as const) {
      if (list === undefined) continue;
      let checked: string[];
      try {
        checked = values(list, key);
      } catch {
        throw new SessionError('ERR_CONFIG_INVALID', `${name}: options.${key} must be an array of printable ASCII strings without spaces or quotes`, undefined, 'option');
      }
      if (checked.length === 0) throw new SessionError('ERR_CONFIG_INVALID', `${name}: options.${key} must not be empty`, undefined, 'option');
      out[key] = checked;
    }
    return Object.freeze(out);
  } catch (error) {
    throw isSessionError(error) ? error : new SessionError('ERR_CONFIG_INVALID', `${name}: options could not be read`, undefined, 'option');
  }
}

/**
 * The step-up rule (RFC 9470 §3): the token's user authenticated at most
 * `maxAge` seconds before `now` (ms), with one of the `acr` values and every
 * `amr` method asked for. Otherwise ERR_AUTH_NOT_FRESH, reason `auth_time`
 * (no usable `auth_time`: not fresh, never assumed), `stale`, `acr` or `amr`.
 * Works on the claims of `JwtUserSessionManager.read` and of
 * `JwtSessionVerifier.read` (an OpenID provider's tokens carry `auth_time` when
 * asked for `max_age`). An `auth_time` later than `now` plus `tolerance`
 * seconds is refused as unusable.
 *
 * @example
 * ```ts
 * const claims = await manager.read(accessToken);
 * checkFreshness(claims, { maxAge: 300, amr: ['otp'] }); // throws ERR_AUTH_NOT_FRESH
 * ```
 */
export function checkFreshness(claims: { readonly [claim: string]: unknown }, requirement: FreshnessRequirement, now = Date.now(), tolerance = 5): void {
  const authTime = claims.auth_time;
  // Whole seconds, as auth_time is: an authentication exactly maxAge ago passes.
  const nowSeconds = Math.floor(now / 1000);
  if (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime > nowSeconds + tolerance) throw notFresh(NOT_FRESH.auth_time);
  if (nowSeconds - authTime > requirement.maxAge) throw notFresh(NOT_FRESH.stale);
  const { acr, amr } = requirement;
  if (acr !== undefined && !(typeof claims.acr === 'string' && acr.includes(claims.acr))) throw notFresh(NOT_FRESH.acr);
  if (amr !== undefined) {
    const had = claims.amr;
    if (!Array.isArray(had)) throw notFresh(NOT_FRESH.amr);
    for (const method of amr) if (!had.includes(method)) throw notFresh(NOT_FRESH.amr);
  }
}

/**
 * The RFC 9470 §3 challenge for a refusal by {@link checkFreshness}, as the
 * value of `WWW-Authenticate`: `error="insufficient_user_authentication"`,
 * `max_age` and `acr_values` of the requirement. A token bound to a DPoP key
 * (`cnf.jkt` in its claims) is answered under the `DPoP` scheme (RFC 9449
 * §7.1: it is usable under no other); any other under `Bearer`.
 */
export function freshnessChallenge(requirement: FreshnessRequirement, claims?: { readonly [claim: string]: unknown }, realm?: string): string {
  const scheme = claims !== undefined && recordedJkt(claims) !== undefined ? 'DPoP' : 'Bearer';
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm="${realm.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')}"`);
  params.push('error="insufficient_user_authentication"', 'error_description="a more recent authentication is required"', `max_age="${requirement.maxAge}"`);
  if (requirement.acr !== undefined) params.push(`acr_values="${requirement.acr.join(' ')}"`);
  return `${scheme} ${params.join(', ')}`;
}

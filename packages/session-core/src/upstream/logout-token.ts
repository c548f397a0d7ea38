import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { SessionError, isSessionError, reasonOf, type SessionErrorReason } from '../errors.js';
import { invalidAccessToken } from '../lib/access-token.js';
import { checkHttpUrl } from '../lib/http-url.js';
import { isWellFormedJws } from '../lib/token-syntax.js';
import { checkTelemetry, fail } from '../options.js';
import { createTelemetry, type TelemetryOption } from '../telemetry/telemetry.js';
import type { DpopReplayCache } from '../dpop/replay.js';
import { joseReason } from '../verifier/jose-reason.js';
import { MAX_UPSTREAM_ID_LENGTH, MAX_UPSTREAM_ISSUER_LENGTH } from './identity.js';
import { ProviderKeys } from './provider-keys.js';
import type { UpstreamSelector } from './types.js';

/*
 * OpenID Connect Back-Channel Logout 1.0: the relying party's end. A provider
 * POSTs a signed Logout Token (§2.4); it is validated by every rule of §2.6,
 * each refusal with its own reason, and only then are the sessions it names
 * ended (§2.7). The `jti` is remembered in a DpopReplayCache (shared by every
 * node with Redis) for as long as the token could be accepted, so a captured
 * token cannot end sessions opened after it.
 */

/** The member of `events` that makes a JWT a logout token (§2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Asymmetric algorithms a logout token may be signed with (§2.6 step 2: never `none`; a shared secret is not the provider's proof). */
export const LOGOUT_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type LogoutTokenAlgorithm = (typeof LOGOUT_TOKEN_ALGORITHMS)[number];

/** Longest logout token read; the endpoint refuses a larger body before parsing it. */
export const MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024;
const MAX_JTI_LENGTH = 256;

/** One provider whose logout tokens are accepted. */
export interface UpstreamProvider {
  /** Its issuer identifier, exactly as its tokens' `iss` (and its discovery document's `issuer`). */
  issuer: string;
  /** This application's client id at the provider: a logout token's `aud` must hold it (§2.6 step 4). */
  clientId: string;
  /** Its JWK Set URL. Without it, `jwks_uri` is read from `{issuer}/.well-known/openid-configuration`. */
  jwksUrl?: string | URL;
  /** Algorithms accepted from this provider, among {@link LOGOUT_TOKEN_ALGORITHMS}. @default ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] */
  algorithms?: LogoutTokenAlgorithm[];
  /**
   * Also accept `typ: JWT` (or no `typ`), for providers that predate the
   * `logout+jwt` type (§2.4 allows it; explicit typing is what keeps an ID
   * token from passing as a logout token). @default false
   */
  allowPlainJwtType?: boolean;
}

export interface LogoutTokenVerifierOptions {
  providers: UpstreamProvider[];
  /** Where accepted `jti`s are remembered; the one the DPoP checks use serves (keys never collide). Share it across nodes (Redis). */
  replayCache: DpopReplayCache;
  /** Seconds: how old a token's `iat` may be (§2.6 step 6). @default 300 */
  maxAge?: number;
  /** Seconds of leeway for `iat` and `exp`. @default 5 */
  clockTolerance?: number;
  /** Accept http: URLs (JWKS, discovery) on hosts other than loopback. @default false */
  allowInsecureUrls?: boolean;
  /** ms between fetches of a provider's keys or metadata, doubled while they fail. @default 30000 */
  jwksCooldown?: number;
  /** ms a fetched key set is current. @default 600000 */
  jwksCacheMaxAge?: number;
  /** ms past that the last good key set is still used while fetches fail. @default 86400000 */
  jwksMaxStaleAge?: number;
  /** ms a fetch may take. @default 5000 */
  jwksTimeout?: number;
  /** @default Date.now */
  clock?: () => number;
  /**
   * Where `jwt_session.upstream.logouts{outcome, reason}` is counted: outcome
   * `ended`, `refused` (with the rule's reason) or `unavailable` (503).
   * Default: the global OpenTelemetry providers; `false` turns it off.
   */
  telemetry?: TelemetryOption;
}

/** What a logout came to, as counted. */
export type LogoutOutcome = 'ended' | 'refused' | 'unavailable';

/** What a valid logout token says: which provider, and the session (`sid`) or user (`sub`) it ended. */
export interface VerifiedLogoutToken {
  issuer: string;
  sessionId?: string;
  subject?: string;
  /** Which sessions to end: the provider session when `sid` is present (§2.7), else every session of the user. */
  selector: UpstreamSelector;
  /** The replay key of its `jti` (a hash, never the `jti`). */
  replayKey: string;
}

interface Provider {
  issuer: string;
  clientId: string;
  algorithms: string[];
  plainJwt: boolean;
  keys: ProviderKeys;
}

const DEFAULT_ALGORITHMS: LogoutTokenAlgorithm[] = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

function refuse(reason: SessionErrorReason): never {
  throw invalidAccessToken(reason);
}

/** RFC 7515 §4.1.9: media types compare case-insensitively, `application/` may be left out. */
function normalizeType(typ: unknown): string | undefined {
  if (typeof typ !== 'string') return undefined;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function boundedText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function checkProvider(value: unknown, at: number, o: { allowInsecure: boolean; timing: ConstructorParameters<typeof ProviderKeys>[2]; clock: () => number }): Provider {
  const name = `providers[${at}]`;
  if (!isObject(value)) fail(name, 'must be { issuer, clientId, jwksUrl?, algorithms?, allowPlainJwtType? }');
  const { issuer, clientId, jwksUrl, algorithms, allowPlainJwtType } = value;
  if (!boundedText(issuer, MAX_UPSTREAM_ISSUER_LENGTH)) fail(`${name}.issuer`, `must be a non-empty string of at most ${MAX_UPSTREAM_ISSUER_LENGTH} characters`);
  if (!boundedText(clientId, 1024)) fail(`${name}.clientId`, 'must be a non-empty string');
  const algs = algorithms ?? DEFAULT_ALGORITHMS;
  if (!Array.isArray(algs) || algs.length === 0 || !algs.every((a) => (LOGOUT_TOKEN_ALGORITHMS as readonly unknown[]).includes(a))) {
    fail(`${name}.algorithms`, `must be a non-empty list of ${LOGOUT_TOKEN_ALGORITHMS.join(', ')}`);
  }
  if (allowPlainJwtType !== undefined && typeof allowPlainJwtType !== 'boolean') fail(`${name}.allowPlainJwtType`, 'must be a boolean');
  const url = jwksUrl === undefined ? undefined : checkHttpUrl(jwksUrl, `${name}.jwksUrl`, o.allowInsecure, 'allowInsecureUrls');
  // Discovery reads {issuer}/.well-known/…: the issuer must then be a URL by the same rule.
  if (url === undefined) checkHttpUrl(issuer, `${name}.issuer`, o.allowInsecure, 'allowInsecureUrls');
  return { issuer, clientId, algorithms: [...(algs as string[])], plainJwt: allowPlainJwtType === true, keys: new ProviderKeys(issuer, url, o.timing, o.clock, o.allowInsecure) };
}

function nonNegative(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(name, 'must be a finite number >= 0');
  return value;
}

/**
 * Validates OpenID Connect Back-Channel Logout tokens (§2.6) from the
 * configured providers and ends the sessions they name.
 *
 * @example
 * ```ts
 * const logout = new LogoutTokenVerifier({
 *   providers: [{ issuer: 'https://idp.example.com', clientId: 'my-app' }],
 *   replayCache: new RedisDpopReplayCache(redis),
 * });
 * const ended = await logout.logout(manager, logoutToken); // how many sessions ended
 * ```
 */
export class LogoutTokenVerifier {
  readonly #providers = new Map<string, Provider>();
  readonly #replay: DpopReplayCache;
  readonly #maxAge: number;
  readonly #tolerance: number;
  readonly #clock: () => number;
  readonly #counter: { add(value: number, attributes: Record<string, string>): void };

  constructor(options: LogoutTokenVerifierOptions) {
    if (!isObject(options)) fail('options', 'must be an object');
    const o = options as unknown as Record<string, unknown>;
    const clock = (o.clock ?? Date.now) as () => number;
    if (typeof clock !== 'function') fail('clock', 'must be a function returning milliseconds');
    if (o.allowInsecureUrls !== undefined && typeof o.allowInsecureUrls !== 'boolean') fail('allowInsecureUrls', 'must be a boolean');
    const timing = {
      cooldown: nonNegative(o, 'jwksCooldown', 30_000),
      cacheMaxAge: nonNegative(o, 'jwksCacheMaxAge', 600_000),
      maxStaleAge: nonNegative(o, 'jwksMaxStaleAge', 86_400_000),
      timeout: nonNegative(o, 'jwksTimeout', 5000),
      maxBytes: 131_072,
    };
    if (!Array.isArray(o.providers) || o.providers.length === 0) fail('providers', 'must be a non-empty list of providers');
    (o.providers as unknown[]).forEach((value, at) => {
      const provider = checkProvider(value, at, { allowInsecure: o.allowInsecureUrls === true, timing, clock });
      if (this.#providers.has(provider.issuer)) fail(`providers[${at}].issuer`, 'is listed twice');
      this.#providers.set(provider.issuer, provider);
    });
    const replay = o.replayCache as DpopReplayCache | undefined;
    if (typeof replay?.remember !== 'function') fail('replayCache', 'must be a DpopReplayCache (remember(key, ttl))');
    this.#replay = replay;
    this.#maxAge = nonNegative(o, 'maxAge', 300);
    this.#tolerance = nonNegative(o, 'clockTolerance', 5);
    this.#clock = clock;
    this.#counter = createTelemetry(checkTelemetry(o.telemetry)).counter('jwt_session.upstream.logouts', 'back-channel logouts by outcome and, when refused, reason');
  }

  /**
   * Counts a refusal made before a token reached {@link logout} (an endpoint's
   * own: a body too large, no `logout_token`), so every refusal is counted once.
   */
  count(outcome: LogoutOutcome, reason?: SessionErrorReason): void {
    this.#counter.add(1, reason === undefined ? { outcome } : { outcome, reason });
  }

  /** The issuers whose logout tokens are accepted. */
  get issuers(): string[] {
    return [...this.#providers.keys()];
  }

  /**
   * Checks a logout token by every rule of §2.6 except the `jti`'s novelty
   * (see {@link logout}). Rejects with ERR_AUTH_TOKEN_INVALID (or
   * ERR_AUTH_TOKEN_EXPIRED) and the rule's reason, or with
   * ERR_STORAGE_UNAVAILABLE when the provider's keys could not be had.
   */
  async verify(token: unknown): Promise<VerifiedLogoutToken> {
    // §2.6 step 1 (a JWT; not encrypted here: a JWE has five parts and is refused as malformed).
    if (typeof token !== 'string' || token.length > MAX_LOGOUT_TOKEN_LENGTH || !isWellFormedJws(token)) refuse('malformed');
    let unverified: JWTPayload;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      refuse('malformed');
    }
    // §2.6 step 3 (which keys to check step 2 with): the issuer must be one configured.
    const provider = typeof unverified.iss === 'string' ? this.#providers.get(unverified.iss) : undefined;
    if (provider === undefined) refuse('issuer');
    // §2.6 step 2: the provider's asymmetric algorithms only (`none` and HS* are never on the list).
    if (typeof header.alg !== 'string' || !provider.algorithms.includes(header.alg)) refuse('algorithm');
    // §2.4 / §4.1: explicit typing, `logout+jwt`; `JWT` or none only when allowed for this provider.
    const typ = normalizeType(header.typ);
    if (typ !== 'logout+jwt' && !(provider.plainJwt && (header.typ === undefined || typ === 'jwt'))) refuse('type');
    const now = this.#clock();
    let payload: JWTPayload;
    try {
      // §2.6 steps 2–6: signature, iss, aud (the client id), iat (present, within maxAge), exp when present.
      ({ payload } = await jwtVerify(token, provider.keys.getKey, {
        algorithms: provider.algorithms,
        issuer: provider.issuer,
        audience: provider.clientId,
        clockTolerance: this.#tolerance,
        maxTokenAge: this.#maxAge,
        requiredClaims: ['iat'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (isSessionError(error)) throw error;
      const reason = joseReason(error);
      if (reason === 'expired') throw new SessionError('ERR_AUTH_TOKEN_EXPIRED', undefined, undefined, 'expired');
      refuse(reason);
    }
    // §2.6 step 7: `events` holds the back-channel logout member, whose value is a JSON object.
    if (!isObject(payload.events) || !Object.hasOwn(payload.events, BACKCHANNEL_LOGOUT_EVENT) || !isObject(payload.events[BACKCHANNEL_LOGOUT_EVENT])) refuse('events');
    // §2.6 step 8: `sub`, `sid` or both.
    const { sid, sub, jti } = payload as { sid?: unknown; sub?: unknown; jti?: unknown };
    if (sid === undefined && sub === undefined) refuse('missing_claim');
    if ((sid !== undefined && !boundedText(sid, MAX_UPSTREAM_ID_LENGTH)) || (sub !== undefined && !boundedText(sub, MAX_UPSTREAM_ID_LENGTH))) refuse('invalid_claim');
    // §2.6 step 9: no `nonce`, so an ID token can never pass as a logout token.
    if (Object.hasOwn(payload, 'nonce')) refuse('id_token');
    // §2.4: `jti` is required (step 10 checks it was not seen before: logout()).
    if (jti === undefined) refuse('missing_claim');
    if (!boundedText(jti, MAX_JTI_LENGTH)) refuse('invalid_claim');
    const replayKey = createHash('sha256').update(`backchannel-logout\u0000${provider.issuer}\u0000${jti}`, 'utf8').digest('base64url');
    const out: VerifiedLogoutToken = {
      issuer: provider.issuer,
      // §2.7: with a sid, the provider session is what ended (its sub, if given, is the same user's).
      selector: typeof sid === 'string' ? { issuer: provider.issuer, sessionId: sid } : { issuer: provider.issuer, subject: sub as string },
      replayKey,
    };
    if (typeof sid === 'string') out.sessionId = sid;
    if (typeof sub === 'string') out.subject = sub;
    return out;
  }

  /**
   * Verifies the token, records its `jti` (once on any node sharing the
   * replay cache: a second presentation is refused with reason `replayed`),
   * and ends the sessions it names through `manager.revokeUpstream` — the
   * usual revocation path. Resolves with how many sessions it ended. When
   * the replay cache or the store cannot confirm the outcome, rejects with
   * ERR_STORAGE_UNAVAILABLE, and the `jti` is released so the provider's
   * retry is not refused as a replay: never acknowledge what was not done.
   */
  async logout(manager: { revokeUpstream(selector: UpstreamSelector): Promise<number> }, token: unknown): Promise<number> {
    let ended: number;
    try {
      ended = await this.#logout(manager, token);
    } catch (error) {
      this.count(isSessionError(error, 'ERR_STORAGE_UNAVAILABLE') ? 'unavailable' : 'refused', reasonOf(error));
      throw error;
    }
    this.count('ended');
    return ended;
  }

  async #logout(manager: { revokeUpstream(selector: UpstreamSelector): Promise<number> }, token: unknown): Promise<number> {
    const verified = await this.verify(token);
    // Remembered as long as the token could be accepted: maxAge past its iat, with the leeway on both sides.
    const ttl = (this.#maxAge + 2 * this.#tolerance + 1) * 1000;
    let outcome: unknown;
    try {
      outcome = await this.#replay.remember(verified.replayKey, ttl);
    } catch (cause) {
      throw isSessionError(cause, 'ERR_STORAGE_UNAVAILABLE') ? cause : new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause }, 'store');
    }
    if (outcome === 'replayed') refuse('replayed');
    if (outcome !== 'fresh') throw new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, undefined, 'store');
    try {
      return await manager.revokeUpstream(verified.selector);
    } catch (error) {
      await this.#replay.forget?.(verified.replayKey).catch(() => undefined);
      throw error;
    }
  }
}

import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { resolveKeys, type ResolvedKey, type SigningAlgorithm } from '../keys.js';
import { checkTelemetry, fail, hasMethods, seconds } from '../options.js';
import type { InvalidAccessTokenCache, InvalidationBroadcaster } from '../storage.js';
import type { TelemetryOption } from '../telemetry/telemetry.js';

type CryptoKey = webcrypto.CryptoKey;

/** A key a verifier checks signatures with: a public key (asymmetric) or the shared secret (HS*). */
export interface VerificationKey {
  /** Matched against the token header's `kid`. */
  kid: string;
  algorithm: SigningAlgorithm;
  /** Asymmetric algorithms. */
  publicKey?: CryptoKey | KeyObject | JWK;
  /** HS* algorithms: the secret the issuer signs with. */
  secret?: Uint8Array | string;
}

/**
 * Whose tokens the verifier accepts.
 * - `jwt-session`: this library's own access tokens, strictly: `typ` `at+jwt`,
 *   `iss aud sub sid jti iat exp` all required; revocation by session id and by
 *   subject, dated by the `jti` (ms).
 * - `oidc`: another OpenID Connect provider's tokens (Keycloak, Auth0, Entra ID,
 *   Google): `acceptedTypes` and `requiredClaims` apply; revocation by subject,
 *   dated by `iat` (seconds: a token issued in the same second as a subject
 *   revocation is rejected too), and by `sid` when the token has one.
 */
export type VerifierTokens = 'jwt-session' | 'oidc';

export interface JwtSessionVerifierOptions {
  /** Verification keys, chosen by `kid`. Exactly one of `keys` and `jwksUrl`. */
  keys?: VerificationKey | VerificationKey[];
  /** A JWK Set URL (e.g. the issuer's `jwks()` served over HTTP, or a provider's `jwks_uri`), fetched and cached with jose's createRemoteJWKSet. */
  jwksUrl?: string | URL;
  /** ms: an unknown `kid` triggers a refetch at most once per this interval (key rotation without a fetch storm). @default 30000 */
  jwksCooldown?: number;
  /** ms a fetched key set is used before it is fetched again. @default 600000 */
  jwksCacheMaxAge?: number;
  /** ms a JWKS request may take. @default 5000 */
  jwksTimeout?: number;
  /** Algorithms accepted from `jwksUrl` keys. @default ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] */
  algorithms?: SigningAlgorithm[];
  /** The `iss` accepted; several for several tenants. */
  issuer: string | string[];
  audience: string | string[];
  /** Seconds of leeway for `exp`, `nbf` and `iat`. @default 5 */
  clockTolerance?: number;
  /** @default 'jwt-session' */
  tokens?: VerifierTokens;
  /** `tokens: 'oidc'` only: accepted `typ` header values (compared as RFC 7515 §4.1.9 says: case-insensitive, `application/` optional); `null` accepts a token without `typ`. @default ['at+jwt', 'JWT'] */
  acceptedTypes?: (string | null)[];
  /** `tokens: 'oidc'` only: claims a token must carry; must include `sub`, `exp` and `iat`. @default ['iss', 'aud', 'sub', 'iat', 'exp'] */
  requiredClaims?: string[];
  invalidAccessTokenCache: InvalidAccessTokenCache;
  /** The broadcaster the issuing service publishes revocations on. */
  broadcaster?: InvalidationBroadcaster;
  /** Verified access tokens kept for fast repeated `read()`; 0 turns the cache off. @default 100000 */
  verifiedTokenCacheSize?: number;
  /** Milliseconds since the epoch. @default Date.now */
  clock?: () => number;
  /** OpenTelemetry metrics and spans, as for the manager. @default the global providers of `@opentelemetry/api` (when installed) */
  telemetry?: TelemetryOption;
}

export interface NormalizedVerifierOptions {
  keys: ResolvedKey[] | undefined;
  jwksUrl: URL | undefined;
  jwks: { cooldownDuration: number; cacheMaxAge: number; timeoutDuration: number };
  algorithms: SigningAlgorithm[];
  issuer: string | string[];
  audience: string | string[];
  clockTolerance: number;
  tokens: VerifierTokens;
  acceptedTypes: ReadonlySet<string | null>;
  requiredClaims: string[];
  invalidAccessTokenCache: InvalidAccessTokenCache;
  broadcaster: InvalidationBroadcaster | undefined;
  verifiedTokenCacheSize: number;
  clock: () => number;
  telemetry: TelemetryOption | undefined;
}

const REMOTE_ALGORITHMS: SigningAlgorithm[] = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'];
export const OWN_REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];
const OIDC_REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp'];

/** RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, with `application/` optional. */
export function normalizeType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

const nonEmptyStrings = (value: unknown): value is string[] => Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0);

function milliseconds(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(name, 'must be a finite number of milliseconds >= 0');
  return value;
}

export function normalizeVerifierOptions(input: JwtSessionVerifierOptions): NormalizedVerifierOptions {
  if (input === null || typeof input !== 'object') fail('', 'must be an object');
  const options = input as unknown as Record<string, unknown>;

  if ((options.keys === undefined) === (options.jwksUrl === undefined)) fail('keys', 'or options.jwksUrl must be given, not both');
  const keys = options.keys === undefined ? undefined : resolveKeys(options.keys, 'verify');
  let jwksUrl: URL | undefined;
  if (options.jwksUrl !== undefined) {
    try {
      jwksUrl = new URL(options.jwksUrl as string | URL);
    } catch {
      fail('jwksUrl', 'must be an http(s) URL');
    }
    if (jwksUrl.protocol !== 'https:' && jwksUrl.protocol !== 'http:') fail('jwksUrl', 'must be an http(s) URL');
  }
  const algorithms = options.algorithms ?? REMOTE_ALGORITHMS;
  if (!nonEmptyStrings(algorithms) || algorithms.some((a) => !REMOTE_ALGORITHMS.includes(a as SigningAlgorithm))) {
    fail('algorithms', `must be a non-empty list of ${REMOTE_ALGORITHMS.join(', ')} (HS* needs keys, never a JWKS)`);
  }

  const issuer = options.issuer;
  if (!(typeof issuer === 'string' && issuer.length > 0) && !nonEmptyStrings(issuer)) fail('issuer', 'must be a non-empty string or a non-empty array of them');
  const audience = options.audience;
  if (!(typeof audience === 'string' && audience.length > 0) && !nonEmptyStrings(audience)) fail('audience', 'must be a non-empty string or a non-empty array of them');
  const clockTolerance = seconds(options, 'clockTolerance', 5, true)!;

  const tokens = options.tokens ?? 'jwt-session';
  if (tokens !== 'jwt-session' && tokens !== 'oidc') fail('tokens', "must be 'jwt-session' or 'oidc'");
  if (tokens === 'jwt-session') {
    // This library's own tokens are checked strictly; loosening them is a choice made by naming the provider.
    if (options.acceptedTypes !== undefined) fail('acceptedTypes', "applies to tokens: 'oidc' only");
    if (options.requiredClaims !== undefined) fail('requiredClaims', "applies to tokens: 'oidc' only");
  }
  const types = options.acceptedTypes ?? ['at+jwt', 'JWT'];
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => t === null || (typeof t === 'string' && t.length > 0))) {
    fail('acceptedTypes', 'must be a non-empty array of strings (or null for no typ)');
  }
  const requiredClaims = tokens === 'oidc' ? (options.requiredClaims ?? OIDC_REQUIRED_CLAIMS) : OWN_REQUIRED_CLAIMS;
  if (!nonEmptyStrings(requiredClaims)) fail('requiredClaims', 'must be a non-empty array of claim names');
  for (const needed of ['sub', 'exp', 'iat']) {
    // sub: revocation is by subject; exp: no token verifies forever; iat: dates a token against a subject revocation.
    if (!requiredClaims.includes(needed)) fail('requiredClaims', `must include "${needed}"`);
  }

  hasMethods(options.invalidAccessTokenCache, 'invalidAccessTokenCache', ['invalidateSession', 'invalidateSubject', 'isSessionInvalidated', 'subjectInvalidatedAt']);
  if (options.broadcaster !== undefined) hasMethods(options.broadcaster, 'broadcaster', ['subscribe']);
  const cacheSize = options.verifiedTokenCacheSize ?? 100_000;
  if (typeof cacheSize !== 'number' || !Number.isSafeInteger(cacheSize) || cacheSize < 0) fail('verifiedTokenCacheSize', 'must be an integer >= 0');
  if (options.clock !== undefined && typeof options.clock !== 'function') fail('clock', 'must be a function returning milliseconds');

  return {
    keys,
    jwksUrl,
    jwks: {
      cooldownDuration: milliseconds(options, 'jwksCooldown', 30_000),
      cacheMaxAge: milliseconds(options, 'jwksCacheMaxAge', 600_000),
      timeoutDuration: milliseconds(options, 'jwksTimeout', 5000),
    },
    algorithms: algorithms as SigningAlgorithm[],
    issuer: typeof issuer === 'string' ? issuer : [...(issuer as string[])],
    audience: typeof audience === 'string' ? audience : [...(audience as string[])],
    clockTolerance,
    tokens,
    acceptedTypes: new Set((types as (string | null)[]).map((t) => (t === null ? null : normalizeType(t)))),
    requiredClaims: [...requiredClaims],
    invalidAccessTokenCache: options.invalidAccessTokenCache as InvalidAccessTokenCache,
    broadcaster: options.broadcaster as InvalidationBroadcaster | undefined,
    verifiedTokenCacheSize: cacheSize,
    clock: (options.clock as (() => number) | undefined) ?? Date.now,
    telemetry: checkTelemetry(options.telemetry),
  };
}

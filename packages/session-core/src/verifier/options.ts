import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { resolveKeys, type ResolvedKey, type SigningAlgorithm } from '../keys.js';
import { checkHttpUrl } from '../lib/http-url.js';
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
 *   Google): `acceptedTypes`, `requiredClaims`, `allowIdTokenClaims` and
 *   `allowedClients` apply; revocation by subject,
 *   dated by `iat` (seconds: a token issued in the same second as a subject
 *   revocation is rejected too), and by `sid` when the token has one.
 */
export type VerifierTokens = 'jwt-session' | 'oidc';

export interface JwtSessionVerifierOptions {
  /** Verification keys, chosen by `kid`. Exactly one of `keys` and `jwksUrl`. */
  keys?: VerificationKey | VerificationKey[];
  /**
   * A JWK Set URL (e.g. the issuer's `jwks()` served over HTTPS, or a provider's `jwks_uri`), fetched and
   * kept by the rules of `RemoteKeySet`. Must be `https:`, except for a loopback host (127.0.0.0/8, `[::1]`,
   * `localhost`) or with `allowInsecureJwksUrl`.
   */
  jwksUrl?: string | URL;
  /** Accept an `http:` jwksUrl on a host other than loopback (anyone on the path could then substitute the keys). @default false */
  allowInsecureJwksUrl?: boolean;
  /**
   * ms: after a JWKS fetch, no other before this interval, whatever its outcome: an unknown `kid` refetches at
   * most once per cooldown (key rotation without a fetch storm); after n consecutive failures the wait is
   * cooldown·2^(n−1), at most 4 cooldowns. @default 30000
   */
  jwksCooldown?: number;
  /** ms a fetched key set counts as current; past it, the next token fetches it again. @default 600000 */
  jwksCacheMaxAge?: number;
  /** ms past `jwksCacheMaxAge` the last good key set is still used while fetches fail (stale-if-error); 0 turns this off. @default 86400000 (one day) */
  jwksMaxStaleAge?: number;
  /** ms a JWKS request, body included, may take. @default 5000 */
  jwksTimeout?: number;
  /** Bytes of JWKS response body accepted; a larger one is a failed fetch. @default 131072 */
  jwksMaxBytes?: number;
  /** Algorithms accepted from `jwksUrl` keys. @default ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] */
  algorithms?: SigningAlgorithm[];
  /** The `iss` accepted; several for several tenants. */
  issuer: string | string[];
  audience: string | string[];
  /** Seconds of leeway for `exp`, `nbf` and `iat`. @default 5 */
  clockTolerance?: number;
  /**
   * Seconds: the longest lifetime (`exp` − `iat`) of a token this verifier accepts; a longer one is invalid.
   * Each revocation received is kept at least this long past its moment, whatever its `expiresAt` says, so a
   * revocation outlives every token it revokes. @default 86400 (one day)
   */
  maxTokenLifetime?: number;
  /** @default 'jwt-session' */
  tokens?: VerifierTokens;
  /**
   * `tokens: 'oidc'` only: accepted `typ` header values (compared as RFC 7515 §4.1.9 says: case-insensitive,
   * `application/` optional); `null` accepts a token without `typ`. Access tokens only by default (RFC 9068
   * §2.1 `at+jwt`): listing `'JWT'` also accepts a provider's generic JWTs, which is how ID tokens are typed.
   * @default ['at+jwt']
   */
  acceptedTypes?: (string | null)[];
  /**
   * `tokens: 'oidc'` only: accept tokens carrying `nonce`, `at_hash` or `c_hash`, claims of ID tokens
   * (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11) that an access token does not have. @default false
   */
  allowIdTokenClaims?: boolean;
  /**
   * `tokens: 'oidc'` only: the OAuth clients whose tokens are accepted. A token must name one by
   * `client_id` (RFC 9068 §2.2) or `azp` (OpenID Connect Core §2), and each of the two it carries must be in
   * the list. @default any client
   */
  allowedClients?: string[];
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
  jwks: { cooldown: number; cacheMaxAge: number; maxStaleAge: number; timeout: number; maxBytes: number };
  algorithms: SigningAlgorithm[];
  issuer: string | string[];
  audience: string | string[];
  clockTolerance: number;
  /** Seconds. */
  maxTokenLifetime: number;
  tokens: VerifierTokens;
  acceptedTypes: ReadonlySet<string | null>;
  allowIdTokenClaims: boolean;
  allowedClients: ReadonlySet<string> | undefined;
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

function flag(options: Record<string, unknown>, name: string): boolean {
  const value = options[name] ?? false;
  if (typeof value !== 'boolean') fail(name, 'must be a boolean');
  return value;
}

export function normalizeVerifierOptions(input: JwtSessionVerifierOptions): NormalizedVerifierOptions {
  if (input === null || typeof input !== 'object') fail('', 'must be an object');
  const options = input as unknown as Record<string, unknown>;

  if ((options.keys === undefined) === (options.jwksUrl === undefined)) fail('keys', 'or options.jwksUrl must be given, not both');
  const keys = options.keys === undefined ? undefined : resolveKeys(options.keys, 'verify');
  const allowInsecure = flag(options, 'allowInsecureJwksUrl');
  // The keys decide whose tokens are genuine: fetched over plain http, anyone on the path could substitute their own.
  const jwksUrl = options.jwksUrl === undefined ? undefined : checkHttpUrl(options.jwksUrl, 'jwksUrl', allowInsecure, 'allowInsecureJwksUrl');
  const algorithms = options.algorithms ?? REMOTE_ALGORITHMS;
  if (!nonEmptyStrings(algorithms) || algorithms.some((a) => !REMOTE_ALGORITHMS.includes(a as SigningAlgorithm))) {
    fail('algorithms', `must be a non-empty list of ${REMOTE_ALGORITHMS.join(', ')} (HS* needs keys, never a JWKS)`);
  }

  const issuer = options.issuer;
  if (!(typeof issuer === 'string' && issuer.length > 0) && !nonEmptyStrings(issuer)) fail('issuer', 'must be a non-empty string or a non-empty array of them');
  const audience = options.audience;
  if (!(typeof audience === 'string' && audience.length > 0) && !nonEmptyStrings(audience)) fail('audience', 'must be a non-empty string or a non-empty array of them');
  const clockTolerance = seconds(options, 'clockTolerance', 5, true)!;
  const maxTokenLifetime = seconds(options, 'maxTokenLifetime', 86_400)!;

  const tokens = options.tokens ?? 'jwt-session';
  if (tokens !== 'jwt-session' && tokens !== 'oidc') fail('tokens', "must be 'jwt-session' or 'oidc'");
  if (tokens === 'jwt-session') {
    // This library's own tokens are checked strictly; loosening them is a choice made by naming the provider.
    for (const name of ['acceptedTypes', 'requiredClaims', 'allowIdTokenClaims', 'allowedClients']) {
      if (options[name] !== undefined) fail(name, "applies to tokens: 'oidc' only");
    }
  }
  const types = options.acceptedTypes ?? ['at+jwt'];
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => t === null || (typeof t === 'string' && t.length > 0))) {
    fail('acceptedTypes', 'must be a non-empty array of strings (or null for no typ)');
  }
  const requiredClaims = tokens === 'oidc' ? (options.requiredClaims ?? OIDC_REQUIRED_CLAIMS) : OWN_REQUIRED_CLAIMS;
  if (!nonEmptyStrings(requiredClaims)) fail('requiredClaims', 'must be a non-empty array of claim names');
  for (const needed of ['sub', 'exp', 'iat']) {
    // sub: revocation is by subject; exp: no token verifies forever; iat: dates a token against a subject revocation.
    if (!requiredClaims.includes(needed)) fail('requiredClaims', `must include "${needed}"`);
  }

  const clients = options.allowedClients;
  if (clients !== undefined && !nonEmptyStrings(clients)) fail('allowedClients', 'must be a non-empty array of client ids');
  const maxBytes = options.jwksMaxBytes ?? 131_072;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1) fail('jwksMaxBytes', 'must be a whole number of bytes > 0');

  hasMethods(options.invalidAccessTokenCache, 'invalidAccessTokenCache', ['invalidateSession', 'invalidateSubject', 'isSessionInvalidated', 'subjectInvalidatedAt']);
  if (options.broadcaster !== undefined) hasMethods(options.broadcaster, 'broadcaster', ['subscribe']);
  const cacheSize = options.verifiedTokenCacheSize ?? 100_000;
  if (typeof cacheSize !== 'number' || !Number.isSafeInteger(cacheSize) || cacheSize < 0) fail('verifiedTokenCacheSize', 'must be an integer >= 0');
  if (options.clock !== undefined && typeof options.clock !== 'function') fail('clock', 'must be a function returning milliseconds');

  return {
    keys,
    jwksUrl,
    jwks: {
      cooldown: milliseconds(options, 'jwksCooldown', 30_000),
      cacheMaxAge: milliseconds(options, 'jwksCacheMaxAge', 600_000),
      maxStaleAge: milliseconds(options, 'jwksMaxStaleAge', 86_400_000),
      timeout: milliseconds(options, 'jwksTimeout', 5000),
      maxBytes,
    },
    algorithms: algorithms as SigningAlgorithm[],
    issuer: typeof issuer === 'string' ? issuer : [...(issuer as string[])],
    audience: typeof audience === 'string' ? audience : [...(audience as string[])],
    clockTolerance,
    maxTokenLifetime,
    tokens,
    acceptedTypes: new Set((types as (string | null)[]).map((t) => (t === null ? null : normalizeType(t)))),
    allowIdTokenClaims: flag(options, 'allowIdTokenClaims'),
    allowedClients: clients === undefined ? undefined : new Set(clients as string[]),
    requiredClaims: [...requiredClaims],
    invalidAccessTokenCache: options.invalidAccessTokenCache as InvalidAccessTokenCache,
    broadcaster: options.broadcaster as InvalidationBroadcaster | undefined,
    verifiedTokenCacheSize: cacheSize,
    clock: (options.clock as (() => number) | undefined) ?? Date.now,
    telemetry: checkTelemetry(options.telemetry),
  };
}

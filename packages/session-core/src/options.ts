import { hkdfSync } from 'node:crypto';
import { SessionError, isSessionError } from './errors.js';
import { keyMaterial, resolveKeys, type ResolvedKey, type SigningKey } from './keys.js';
import type { InvalidAccessTokenCache, InvalidationBroadcaster, RefreshTokenStore } from './storage.js';
import type { TelemetryOption } from './telemetry/telemetry.js';
import { normalizeReusePolicy, type ReusePolicy } from './reuse.js';
import { checkJitter } from './jitter.js';
import { driftConfig, type DriftConfig, type DriftPolicy } from './drift.js';
import { deviceHistoryConfig, type DeviceHistoryConfig, type DeviceHistoryOptions } from './device.js';

export interface JwtUserSessionManagerOptions {
  /** The first key signs; all of them verify (key rotation). */
  keys: SigningKey | SigningKey[];
  issuer: string;
  audience: string | string[];
  /** Seconds. @default 900 */
  accessTokenTtl?: number;
  /**
   * Takes a random part, up to this fraction, off each access token's
   * lifetime (0.05: between 95% and 100% of `accessTokenTtl`, whole seconds),
   * so sessions opened together do not refresh together. Never longer than
   * `accessTokenTtl`. From 0 to 0.1. @default 0 (off)
   */
  accessTokenTtlJitter?: number;
  /** Seconds: absolute lifetime of a session; rotation never extends it. @default 2592000 (30 days) */
  refreshTokenTtl?: number;
  /** Seconds: a session not refreshed for this long ends. @default off */
  refreshTokenIdleTtl?: number;
  /** Seconds of leeway for `exp`, `nbf` and `iat`. @default 5 */
  clockTolerance?: number;
  /** When reached, `create()` evicts the subject's oldest sessions atomically. @default unlimited */
  maxSessionsPerSubject?: number;
  /**
   * Seconds after a rotation during which the previous refresh token (only that
   * one) is answered with the same new pair instead of being treated as reuse:
   * covers tabs racing on one cookie and retries after a lost response. @default 0
   */
  refreshTokenReuseInterval?: number;
  /**
   * Per kind of reuse, whether presenting a rotated-out refresh token ends the
   * session (`'revoke'`) or only refuses that token (`'refuse'`): `previous`
   * (the token just replaced, after `refreshTokenReuseInterval`: mostly lost
   * responses and slow tabs), `ancestor` (two or more rotations old: a copy),
   * `branch` (a token the store's chain does not lead to: it lost rotations).
   * Every refusal is ERR_REFRESH_TOKEN_REUSED with the reason
   * `reused_<kind>` and the `refreshTokenReused` event, whatever the action.
   * @default { previous: 'revoke', ancestor: 'revoke', branch: 'revoke' }
   */
  refreshTokenReusePolicy?: Partial<ReusePolicy>;
  /**
   * Key (at least 32 bytes) from which refresh-token successors are derived.
   * Every node must use the same one. @default derived (HKDF) from the signing
   * key, so rotating the signing key also changes it
   */
  refreshTokenSecret?: Uint8Array | string;
  /** Verified access tokens kept for fast repeated `read()`; 0 turns the cache off. @default 100000 */
  verifiedTokenCacheSize?: number;
  refreshTokenStore: RefreshTokenStore;
  invalidAccessTokenCache: InvalidAccessTokenCache;
  broadcaster?: InvalidationBroadcaster;
  /** Milliseconds since the epoch. For tests that freeze time. @default Date.now */
  clock?: () => number;
  /**
   * Keeps, per subject, a small history of the devices (summary + network,
   * as a keyed hash) sessions were created from, and emits
   * `sessionCreatedOnNewDevice` when create()'s `device` is not in it. Needs
   * a store with `rememberDevice()`. `true`: the defaults. @default off
   */
  deviceHistory?: boolean | DeviceHistoryOptions;
  /**
   * What a refresh does when the `device` given to update() is not the one the
   * session was created (or last refreshed) with: 'observe' emits
   * `sessionDeviceChanged` and records the new device; 'refresh' does too, and
   * access tokens carry the network (`dnh`, a keyed mark) so a guard given the
   * request's network refuses a token presented from another one until the
   * client refreshes; 'revoke' ends the session. Expect false positives: see
   * the README (mobile handovers, VPNs, dual stack, carrier NAT). @default 'off'
   */
  drift?: DriftPolicy;
  /** OpenTelemetry metrics and spans. @default the global providers of `@opentelemetry/api` (when installed) */
  telemetry?: TelemetryOption;
}

export interface NormalizedOptions {
  keys: ResolvedKey[];
  issuer: string;
  audience: string | string[];
  accessTokenTtl: number;
  accessTokenTtlJitter: number;
  /** ms */
  refreshTokenTtl: number;
  /** ms */
  refreshTokenIdleTtl: number | undefined;
  clockTolerance: number;
  maxSessionsPerSubject: number | undefined;
  /** ms */
  refreshTokenReuseInterval: number;
  refreshTokenReusePolicy: ReusePolicy;
  refreshTokenKey: Buffer;
  verifiedTokenCacheSize: number;
  refreshTokenStore: RefreshTokenStore;
  invalidAccessTokenCache: InvalidAccessTokenCache;
  broadcaster: InvalidationBroadcaster | undefined;
  clock: () => number;
  telemetry: TelemetryOption | undefined;
  deviceHistory: DeviceHistoryConfig | undefined;
  drift: DriftConfig | undefined;
}

export function fail(name: string, message: string): never {
  throw new SessionError('ERR_CONFIG_INVALID', `options.${name} ${message}`, undefined, 'option');
}

export function seconds(options: Record<string, unknown>, name: string, fallback: number | undefined, allowZero = false): number | undefined {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(name, `must be a finite number ${allowZero ? '>= 0' : '> 0'} (seconds)`);
  }
  return value;
}

export function hasMethods(value: unknown, name: string, methods: string[]): void {
  if (value === null || typeof value !== 'object') fail(name, 'is required');
  for (const method of methods) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') fail(name, `must implement ${method}()`);
  }
}

export function checkTelemetry(value: unknown): TelemetryOption | undefined {
  if (value === undefined || value === false) return value;
  if (value === null || typeof value !== 'object') fail('telemetry', 'must be false or { meterProvider?, tracerProvider? }');
  const { meterProvider, tracerProvider } = value as Record<string, { getMeter?: unknown; getTracer?: unknown } | undefined>;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') fail('telemetry.meterProvider', 'must be an OpenTelemetry MeterProvider');
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') fail('telemetry.tracerProvider', 'must be an OpenTelemetry TracerProvider');
  return value as TelemetryOption;
}

/**
 * Runs an options check so that whatever it meets — a proxy, a getter that
 * throws, a value of the wrong type deep inside — ends as ERR_CONFIG_INVALID,
 * never as a raw TypeError out of a constructor.
 */
export function configChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (isSessionError(error)) throw error;
    throw new SessionError('ERR_CONFIG_INVALID', 'options could not be read', { cause: error }, 'option');
  }
}

export function normalizeOptions(input: JwtUserSessionManagerOptions): NormalizedOptions {
  if (input === null || typeof input !== 'object') fail('', 'must be an object');
  const options = input as unknown as Record<string, unknown>;
  const keys = resolveKeys(options.keys);

  if (typeof options.issuer !== 'string' || options.issuer.length === 0) fail('issuer', 'must be a non-empty string');
  const audience = options.audience;
  const audienceOk = typeof audience === 'string' ? audience.length > 0 : Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a.length > 0);
  if (!audienceOk) fail('audience', 'must be a non-empty string or a non-empty array of them');

  const accessTokenTtl = seconds(options, 'accessTokenTtl', 900)!;
  const refreshTokenTtl = seconds(options, 'refreshTokenTtl', 30 * 24 * 3600)!;
  const idle = seconds(options, 'refreshTokenIdleTtl', undefined);
  if (idle !== undefined && idle > refreshTokenTtl) fail('refreshTokenIdleTtl', 'must not exceed refreshTokenTtl');
  if (!Number.isInteger(accessTokenTtl)) fail('accessTokenTtl', 'must be a whole number of seconds');
  const clockTolerance = seconds(options, 'clockTolerance', 5, true)!;
  const reuse = seconds(options, 'refreshTokenReuseInterval', 0, true)!;

  const max = options.maxSessionsPerSubject;
  if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)) fail('maxSessionsPerSubject', 'must be a positive integer');
  const cacheSize = options.verifiedTokenCacheSize ?? 100_000;
  if (typeof cacheSize !== 'number' || !Number.isSafeInteger(cacheSize) || cacheSize < 0) fail('verifiedTokenCacheSize', 'must be an integer >= 0');

  let refreshTokenKey: Buffer;
  const secret = options.refreshTokenSecret;
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
    if (bytes === undefined || bytes.length < 32) fail('refreshTokenSecret', 'must be a string or Uint8Array of at least 32 bytes');
    refreshTokenKey = bytes;
  } else {
    const material = keyMaterial(keys[0]!);
    if (material === undefined) fail('refreshTokenSecret', 'is required when the signing key cannot be exported');
    refreshTokenKey = Buffer.from(hkdfSync('sha256', material, 'jwt-session', 'refresh-token-successor/v1', 32));
  }

  hasMethods(options.refreshTokenStore, 'refreshTokenStore', ['insert', 'settleInsert', 'rotate', 'list', 'delete', 'deleteAll']);
  hasMethods(options.invalidAccessTokenCache, 'invalidAccessTokenCache', ['invalidateSession', 'invalidateSubject', 'isSessionInvalidated', 'subjectInvalidatedAt']);
  if (options.broadcaster !== undefined) hasMethods(options.broadcaster, 'broadcaster', ['subscribe']);
  if (options.clock !== undefined && typeof options.clock !== 'function') fail('clock', 'must be a function returning milliseconds');

  return {
    keys,
    issuer: options.issuer as string,
    audience: audience as string | string[],
    accessTokenTtl,
    accessTokenTtlJitter: checkJitter(options.accessTokenTtlJitter),
    refreshTokenTtl: refreshTokenTtl * 1000,
    refreshTokenIdleTtl: idle === undefined ? undefined : idle * 1000,
    clockTolerance,
    maxSessionsPerSubject: max as number | undefined,
    refreshTokenReuseInterval: reuse * 1000,
    refreshTokenReusePolicy: normalizeReusePolicy(options.refreshTokenReusePolicy),
    refreshTokenKey,
    verifiedTokenCacheSize: cacheSize,
    refreshTokenStore: options.refreshTokenStore as RefreshTokenStore,
    invalidAccessTokenCache: options.invalidAccessTokenCache as InvalidAccessTokenCache,
    broadcaster: options.broadcaster as InvalidationBroadcaster | undefined,
    clock: (options.clock as (() => number) | undefined) ?? Date.now,
    telemetry: checkTelemetry(options.telemetry),
    deviceHistory: deviceHistoryConfig(options.deviceHistory, options.refreshTokenStore as RefreshTokenStore, refreshTokenKey),
    drift: driftConfig(options.drift, refreshTokenKey),
  };
}

import { createHmac, hkdfSync } from 'node:crypto';
import { SessionError } from './errors.js';
import type { SESSION_CREATED_ON_NEW_DEVICE, SessionEvents } from './events.js';
import type { DeviceHistoryResult, RefreshTokenStore } from './storage.js';
import type { DeviceInput } from './types.js';

/*
 * New devices. The app describes the client that signs in: a device summary
 * ("Firefox on macOS", from its own user-agent parsing) and a network
 * ("203.0.113.0/24", "2001:db8:1234::/48", or an ASN). The pair is kept in
 * a small per-subject history in the store, as a keyed hash only:
 * HMAC-SHA-256 under a key derived from the manager's refresh-token key, over
 * the subject and the pair. The store (a dump, a replica, a backup) then holds
 * no IP prefix and no user agent, cannot be tested against guessed networks
 * without the key (an IPv4 /24 has only 2^24 values: an unkeyed hash would be
 * reversed in seconds), and cannot link one device across subjects.
 *
 * The history is bounded (the `max` most recently seen pairs) and expires
 * (a pair unseen for `ttl` is forgotten, and so is the whole history of a
 * subject who does not sign in for that long).
 */

export interface DeviceHistoryOptions {
  /** Seconds a device is remembered after it was last seen. @default 15552000 (180 days) */
  ttl?: number;
  /** Most devices remembered per subject; the least recently seen go first. @default 20 */
  max?: number;
}

export interface DeviceHistoryConfig {
  key: Buffer;
  /** ms */
  ttl: number;
  max: number;
}

const MAX_FIELD = 256;
const DEFAULT_TTL = 180 * 24 * 3600;
const DEFAULT_MAX = 20;

function configFail(name: string, message: string): never {
  throw new SessionError('ERR_CONFIG_INVALID', `options.${name} ${message}`, undefined, 'option');
}

/** Checks `deviceHistory` and that the store can keep one; undefined when the option is absent. */
export function deviceHistoryConfig(value: unknown, store: RefreshTokenStore, refreshTokenKey: Uint8Array): DeviceHistoryConfig | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configFail('deviceHistory', 'must be true or { ttl?, max? }');
  const { ttl = DEFAULT_TTL, max = DEFAULT_MAX } = value as Record<string, unknown>;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) configFail('deviceHistory.ttl', 'must be a finite number > 0 (seconds)');
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1 || max > 1000) configFail('deviceHistory.max', 'must be an integer from 1 to 1000');
  if (typeof store.rememberDevice !== 'function') configFail('deviceHistory', 'needs a refreshTokenStore with rememberDevice() (memory, Redis and PostgreSQL stores have it)');
  const key = Buffer.from(hkdfSync('sha256', refreshTokenKey, 'jwt-session', 'device-history/v1', 32));
  return { key, ttl: Math.ceil(ttl * 1000), max };
}

/** The `device` of a create() or update() call, checked; undefined when absent. */
export function checkDevice(value: unknown): DeviceInput | undefined {
  if (value === undefined) return undefined;
  const invalid = (): never => {
    throw new SessionError('ERR_CLAIMS_INVALID', `device must be { summary, network }: strings of 1 to ${MAX_FIELD} characters`, undefined, 'device');
  };
  if (value === null || typeof value !== 'object') invalid();
  let summary: unknown;
  let network: unknown;
  try {
    ({ summary, network } = value as Record<string, unknown>);
  } catch {
    invalid();
  }
  for (const field of [summary, network]) if (typeof field !== 'string' || field.length === 0 || field.length > MAX_FIELD) invalid();
  return { summary: summary as string, network: network as string };
}

/** create()'s `device`, checked; it needs the manager's `deviceHistory` (a device nobody would look at is a mistake, not a no-op). */
export function createDevice(value: unknown, config: DeviceHistoryConfig | undefined, drift = false): DeviceInput | undefined {
  const device = checkDevice(value);
  if (device !== undefined && config === undefined && !drift) configFail('deviceHistory', 'is off: create() was given a device (turn deviceHistory or drift on, or leave device out)');
  return device;
}

const FINGERPRINT = /^[A-Za-z0-9_-]{22}$/;
const badDevice = (what: string): never => {
  throw new SessionError('ERR_CLAIMS_INVALID', `rememberDevice: ${what} is invalid`, undefined, 'input');
};

/**
 * The input checks of `rememberDevice`, for writers of stores (as
 * `storeInput`): the subject, a fingerprint of 22 base64url characters, and
 * `now`, `ttl` (ms, > 0) and `max` (1 to 1000). ERR_CLAIMS_INVALID.
 */
export function checkDeviceFingerprint(subject: unknown, fingerprint: unknown, options: unknown): { now: number; ttl: number; max: number } {
  if (typeof subject !== 'string' || subject.length === 0) badDevice('subject');
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) badDevice('fingerprint');
  if (options === null || typeof options !== 'object') badDevice('options');
  const { now, ttl, max } = options as Record<string, unknown>;
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) badDevice('now');
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0) badDevice('ttl');
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1 || max > 1000) badDevice('max');
  return { now: now as number, ttl: ttl as number, max: max as number };
}

/** The keyed hash a history holds for this subject's device: 128 bits, base64url (22 characters). */
export function deviceFingerprint(key: Buffer, subject: string, device: DeviceInput): string {
  // NUL-separated: neither part can shift into the next (a subject or summary holding NUL is still one field: lengths first).
  const input = `jwt-session/device/v1\0${subject.length}:${subject}\0${device.summary.length}:${device.summary}\0${device.network}`;
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * After a create(): records the device in the subject's history and says
 * whether it was new. A history that cannot be read counts as new (a sign-in
 * the app could not match to a known device is the one to tell the user
 * about); `first` marks a subject with no history at all (a first sign-in,
 * or one after `ttl` without any).
 */
export async function noteDevice(
  config: DeviceHistoryConfig,
  store: RefreshTokenStore,
  at: { subject: string; sessionId: string; now: number },
  device: DeviceInput,
): Promise<SessionEvents[typeof SESSION_CREATED_ON_NEW_DEVICE] | undefined> {
  const { subject, sessionId, now } = at;
  let seen: DeviceHistoryResult;
  try {
    seen = await store.rememberDevice!(subject, deviceFingerprint(config.key, subject, device), { now, ttl: config.ttl, max: config.max });
  } catch {
    return { subject, sessionId, at: now, device: { ...device }, first: false, historyUnavailable: true };
  }
  if (seen === 'known') return undefined;
  return { subject, sessionId, at: now, device: { ...device }, first: seen === 'first', historyUnavailable: false };
}

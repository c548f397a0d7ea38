import { createHmac, hkdfSync } from 'node:crypto';
import { SessionError } from './errors.js';
import type { SESSION_DEVICE_CHANGED, SessionEvents } from './events.js';
import { checkDevice } from './device.js';
import type { DeviceInput } from './types.js';

/*
 * Drift (issue 22): the client's device summary or network changes within a
 * session. The manager's `drift` option says what a refresh does about it:
 * 'observe' (the event), 'refresh' (the event, and access tokens carry the
 * network so a guard refuses one presented from another network) or
 * 'revoke' (the session ends).
 *
 * Where the session's device is recorded: in its refresh token, not in the
 * store. The token gets one more segment under its mac (refresh-token.ts),
 * `~<summary mark><network mark>`: two keyed hashes (HMAC-SHA-256 under a
 * key derived from the refresh-token key, over the session id and the value,
 * 64 bits each). Why there and not in the stored context, as freshness.ts
 * keeps the authentication: a refresh compares what the client presents with
 * what was recorded *before* it, and every store's rotate answers with the
 * session *after* its merge, so the stored value the rotation replaced is
 * gone from the answer; reading it first would need a store call by session
 * id that no store has, and would race with the rotation. The presented
 * refresh token is that value, fixed: it is rotated once (any racing refresh
 * of it gets the reuse-interval pair or a reuse refusal, and each compares
 * its own device with the same recorded one), so two racing refreshes cannot
 * slip a change by each other, with no store change, no store bytes and no
 * store call. The marks are keyed and per session: the token (or a log of
 * it) reveals no network, and the same network gives other marks in another
 * session. A session created without a device has no segment and is never
 * compared; an update() without a device keeps the segment as it is (the
 * app decides where it knows the client's network).
 */

export type DriftPolicy = 'off' | 'observe' | 'refresh' | 'revoke';

export interface DriftConfig {
  policy: Exclude<DriftPolicy, 'off'>;
  key: Buffer;
}

const POLICIES: readonly string[] = ['off', 'observe', 'refresh', 'revoke'];

/** Checks the manager's `drift` option; undefined when off. */
export function driftConfig(value: unknown, refreshTokenKey: Uint8Array): DriftConfig | undefined {
  if (value === undefined || value === 'off') return undefined;
  if (typeof value !== 'string' || !POLICIES.includes(value)) {
    throw new SessionError('ERR_CONFIG_INVALID', "options.drift must be 'off', 'observe', 'refresh' or 'revoke'", undefined, 'option');
  }
  const key = Buffer.from(hkdfSync('sha256', refreshTokenKey, 'jwt-session', 'drift/v1', 32));
  return { policy: value as DriftConfig['policy'], key };
}

/** Length of one mark: 64 bits, base64url. */
const MARK = 11;

function mark(key: Buffer, field: 's' | 'n', sessionId: string, value: string): string {
  return createHmac('sha256', key).update(`jwt-session/drift/v1\0${field}\0${sessionId}\0${value}`, 'utf8').digest('base64url').slice(0, MARK);
}

/** The refresh token's drift segment for a device: the summary's mark then the network's (22 characters). */
export function driftMarks(config: DriftConfig, sessionId: string, device: DeviceInput): string {
  return mark(config.key, 's', sessionId, device.summary) + mark(config.key, 'n', sessionId, device.network);
}

/** The network's mark of a segment: what an access token carries as `dnh` under the 'refresh' policy. */
export function networkMark(marks: string): string {
  return marks.slice(MARK);
}

/**
 * update()'s `device`, checked. With `drift` off it is ignored while `deviceHistory` is on: one source (the
 * endpoints' `device` option) feeds both, create() for the history and update() for drift. With both off a
 * device is a mistake (nothing would ever look at it), not a no-op.
 */
export function updateDevice(value: unknown, config: DriftConfig | undefined, deviceHistory: boolean): DeviceInput | undefined {
  const device = checkDevice(value);
  if (device !== undefined && config === undefined) {
    if (deviceHistory) return undefined;
    throw new SessionError('ERR_CONFIG_INVALID', 'options.drift is off: update() was given a device (turn drift on, or leave device out)', undefined, 'option');
  }
  return device;
}

/** The marks an update() issues with: of the device it was given, else the presented token's (none when it has none). */
export function presentedMarks(config: DriftConfig | undefined, value: unknown, sessionId: string, recorded: string | undefined, deviceHistory = false): string | undefined {
  const device = updateDevice(value, config, deviceHistory);
  return device === undefined ? recorded : driftMarks(config!, sessionId, device);
}

export type DriftChange = ('summary' | 'network')[];

/** What changed between the recorded segment and the presented one; empty when nothing, or nothing to compare. */
export function driftChange(recorded: string | undefined, presented: string | undefined): DriftChange {
  if (recorded === undefined || presented === undefined || recorded === presented) return [];
  const changed: DriftChange = [];
  if (recorded.slice(0, MARK) !== presented.slice(0, MARK)) changed.push('summary');
  if (recorded.slice(MARK) !== presented.slice(MARK)) changed.push('network');
  return changed;
}

/**
 * After the store rotated (or answered within the reuse interval) a refresh
 * that presented a changed device: the event, and under 'revoke' the
 * session's end through `revoke` (the manager's deleteOne: every node, fail
 * safe) and ERR_REFRESH_TOKEN_INVALID (`drift`). The new tokens of the
 * rotation are then never handed out.
 */
export async function applyDrift(
  config: DriftConfig,
  changed: DriftChange,
  at: { subject: string; sessionId: string; now: number },
  emit: (payload: SessionEvents[typeof SESSION_DEVICE_CHANGED]) => void,
  revoke: (subject: string, sessionId: string) => Promise<unknown>,
): Promise<void> {
  if (changed.length === 0) return;
  const { subject, sessionId, now } = at;
  if (config.policy !== 'revoke') {
    emit({ subject, sessionId, at: now, changed: [...changed], revoked: false });
    return;
  }
  // Fail safe: when the store fails, deleteOne has invalidated the access tokens anyway; the refresh is refused either way.
  await revoke(subject, sessionId).catch(() => undefined);
  emit({ subject, sessionId, at: now, changed: [...changed], revoked: true });
  throw new SessionError('ERR_REFRESH_TOKEN_INVALID', 'refresh token is invalid', undefined, 'drift');
}

/**
 * A guard's check under the 'refresh' policy: the access token's claims were
 * issued for `network`, or carry no `dnh` (issued without a device, or under
 * another policy). Otherwise ERR_AUTH_TOKEN_INVALID, reason `drift`: the
 * client refreshes, presenting its device, and gets a token for its network.
 */
export function checkNetwork(config: DriftConfig | undefined, claims: { readonly [claim: string]: unknown }, network: unknown): void {
  const dnh = claims.dnh;
  if (dnh === undefined) return;
  // A token with `dnh` on a manager whose policy is not 'refresh' (changed since it was issued): nothing to compare with, refused.
  const ok = config !== undefined && typeof claims.sid === 'string' && typeof network === 'string' && dnh === mark(config.key, 'n', claims.sid, network);
  if (!ok) throw new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'drift');
}

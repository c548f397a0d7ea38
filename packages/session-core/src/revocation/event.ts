import { MAX_SUBJECT_LENGTH, isWellFormedText } from '../lib/claims.js';
import { SessionError } from '../errors.js';
import type { InvalidationEvent, InvalidationReason, InvalidationReceiver } from '../storage.js';

/*
 * The one check of an invalidation event that arrives from elsewhere: another
 * node through a broadcaster, or a shared Redis stream that any client with
 * write access can append to. Broadcasters and the manager both use it, so
 * the reason set and the field rules live here only.
 */
const REASONS: ReadonlySet<unknown> = new Set<InvalidationReason>(['deleted', 'reused', 'evicted']);
/** More ids than any subject can have live at once (a deleteAll's list rides in one event). */
export const MAX_EVENT_SESSION_IDS = 10_000;

const isSubject = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBJECT_LENGTH && isWellFormedText(value);
/** Looser than the ids this library makes (26 characters): bounded, so a junk entry costs little; an id no session has rejects nothing. */
const MAX_SESSION_ID_LENGTH = 128;
const isSessionId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_SESSION_ID_LENGTH && isWellFormedText(value);
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function read(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  // Copied field by field: a proxy or a getter is read once, and nothing else travels on.
  return { type: e.type, subject: e.subject, sessionId: e.sessionId, reason: e.reason, at: e.at, expiresAt: e.expiresAt, sessionIds: e.sessionIds };
}

/**
 * A well-formed copy of `value` holding only the known fields, or undefined
 * for anything else (never throws: one bad entry must not stop the ones
 * behind it).
 *
 * @example
 * ```ts
 * const event = parseInvalidationEvent(JSON.parse(payload));
 * if (event !== undefined) receiver.restrictOne(event);
 * ```
 */
export function parseInvalidationEvent(value: unknown): InvalidationEvent | undefined {
  let e: Record<string, unknown> | undefined;
  try {
    e = read(value);
  } catch {
    return undefined;
  }
  if (e === undefined || !isSubject(e.subject) || !isTime(e.at) || !isTime(e.expiresAt)) return undefined;
  if (e.type === 'session') {
    if (!isSessionId(e.sessionId) || !REASONS.has(e.reason)) return undefined;
    return { type: 'session', subject: e.subject, sessionId: e.sessionId, reason: e.reason as InvalidationReason, at: e.at, expiresAt: e.expiresAt };
  }
  if (e.type !== 'subject') return undefined;
  if (e.sessionIds === undefined) return { type: 'subject', subject: e.subject, at: e.at, expiresAt: e.expiresAt };
  const ids = e.sessionIds;
  if (!Array.isArray(ids) || ids.length > MAX_EVENT_SESSION_IDS || !ids.every(isSessionId)) return undefined;
  return { type: 'subject', subject: e.subject, at: e.at, expiresAt: e.expiresAt, sessionIds: [...ids] };
}

/**
 * For broadcasters' `subscribe()`: throws ERR_CONFIG_INVALID unless `value`
 * has `restrictOne()` and `restrictAll()` (a throwing getter or a proxy counts
 * as not having them).
 */
export function assertInvalidationReceiver(value: unknown): asserts value is InvalidationReceiver {
  let ok = false;
  try {
    const r = value as Record<string, unknown> | null;
    ok = r !== null && typeof r === 'object' && typeof r.restrictOne === 'function' && typeof r.restrictAll === 'function';
  } catch {
    ok = false;
  }
  if (!ok) throw new SessionError('ERR_CONFIG_INVALID', 'subscribe(): the receiver must have restrictOne() and restrictAll()', undefined, 'option');
}

import { SessionError } from './errors.js';
import { MAX_CLAIMS_BYTES, checkContext, checkSubject, jsonObject } from './lib/claims.js';
import { SESSION_ID_PATTERN } from './lib/ids.js';
import type { NewSessionRecord, RotateRequest } from './storage.js';
import { checkReplayInput } from './dpop/replay.js';
import { checkUpstream, checkUpstreamSelector } from './upstream/identity.js';

/*
 * What a store accepts, checked once here for every store: a store's methods
 * are public too, and bad input there must end in a coded error, not a raw
 * TypeError or a record that later breaks a read (a 10 MB subject once held
 * the memory store's event loop for 19–30 s). The manager only ever passes
 * values that pass these checks.
 */
const HASH = /^[A-Za-z0-9_-]{1,128}$/;

function invalid(what: unknown): never {
  throw new SessionError('ERR_CLAIMS_INVALID', typeof what === 'string' ? `${what} is invalid` : 'invalid input', undefined, what === 'sessionId' ? 'session_id' : 'input');
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** A session id this library made (26 base64url characters, the first four its subject's hash tag). */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

/** A finite `now` (ms). */
export function checkNow(now: unknown): number {
  if (!isTime(now)) invalid('now');
  return now;
}

/** `subject` as the manager accepts it; `sessionId` any string (one that is not an id simply matches nothing). */
export function checkSubjectAndId(subject: unknown, sessionId: unknown): void {
  checkSubject(subject);
  if (typeof sessionId !== 'string') invalid('sessionId');
}

function checkOptionalTime(value: unknown, what: string): void {
  if (value !== undefined && !isTime(value)) invalid(what);
}

/**
 * A checked copy of a record to insert, with claims and context copied
 * through JSON (so the caller keeps no reference into the store).
 */
export function checkNewSessionRecord(value: unknown): NewSessionRecord {
  if (value === null || typeof value !== 'object') invalid('the session record');
  try {
    const r = value as Record<string, unknown>;
    if (!isSessionId(r.sessionId)) invalid('sessionId');
    const subject = checkSubject(r.subject);
    if (typeof r.tokenHash !== 'string' || !HASH.test(r.tokenHash)) invalid('tokenHash');
    if (!isTime(r.createdAt) || !isTime(r.expiresAt)) invalid('createdAt or expiresAt');
    checkOptionalTime(r.idleExpiresAt, 'idleExpiresAt');
    return {
      sessionId: r.sessionId,
      subject,
      tokenHash: r.tokenHash,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      idleExpiresAt: r.idleExpiresAt as number | undefined,
      claims: jsonObject(r.claims, 'claims', MAX_CLAIMS_BYTES),
      context: checkContext(r.context),
      upstream: checkUpstream(r.upstream),
    };
  } catch (error) {
    if (error instanceof SessionError) throw error;
    invalid('the session record');
  }
}

/** A checked copy of a rotation request. */
export function checkRotateRequest(value: unknown): RotateRequest {
  if (value === null || typeof value !== 'object') invalid('the rotate request');
  try {
    const r = value as Record<string, unknown>;
    if (typeof r.sessionId !== 'string') invalid('sessionId');
    for (const name of ['presentedHash', 'successorHash'] as const) {
      if (typeof r[name] !== 'string' || !HASH.test(r[name] as string)) invalid(name);
    }
    const now = checkNow(r.now);
    if (!isTime(r.reuseInterval) || r.reuseInterval < 0) invalid('reuseInterval');
    checkOptionalTime(r.idleTtl, 'idleTtl');
    if (r.revokePrevious !== undefined && typeof r.revokePrevious !== 'boolean') invalid('revokePrevious');
    return {
      sessionId: r.sessionId,
      presentedHash: r.presentedHash as string,
      successorHash: r.successorHash as string,
      now,
      reuseInterval: r.reuseInterval,
      idleTtl: r.idleTtl as number | undefined,
      claims: r.claims === undefined ? undefined : jsonObject(r.claims, 'claims', MAX_CLAIMS_BYTES),
      context: r.context === undefined ? undefined : checkContext(r.context),
      revokePrevious: r.revokePrevious !== false,
    };
  } catch (error) {
    if (error instanceof SessionError) throw error;
    invalid('the rotate request');
  }
}

/** `maxSessionsPerSubject` and `receiptTtl` of an insert, and the like: a positive safe integer or undefined. */
export function checkOptionalCount(value: unknown, what: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) invalid(what);
  return value;
}

/** `now`, `maxSessionsPerSubject` and `receiptTtl` of an insert (or a settleInsert), read once. */
export function checkInsertOptions(options: unknown): { now: number; maxSessionsPerSubject: number | undefined; receiptTtl: number | undefined } {
  if (options === null || typeof options !== 'object') invalid('options');
  let raw: { now: unknown; max: unknown; ttl: unknown };
  try {
    const o = options as Record<string, unknown>;
    raw = { now: o.now, max: o.maxSessionsPerSubject, ttl: o.receiptTtl };
  } catch {
    invalid('options');
  }
  return { now: checkNow(raw.now), maxSessionsPerSubject: checkOptionalCount(raw.max, 'maxSessionsPerSubject'), receiptTtl: checkOptionalCount(raw.ttl, 'receiptTtl') };
}

/**
 * The input checks every RefreshTokenStore applies to its public methods,
 * shared so each store answers bad input the same way: ERR_CLAIMS_INVALID,
 * before any work. For writers of stores.
 *
 * @example
 * ```ts
 * async insert(session: NewSessionRecord, options: InsertOptions) {
 *   const record = storeInput.record(session);
 *   storeInput.now(options.now);
 *   // ...
 * }
 * ```
 */
export const storeInput = Object.freeze({
  record: checkNewSessionRecord,
  rotate: checkRotateRequest,
  now: checkNow,
  subjectAndId: checkSubjectAndId,
  subject: (subject: unknown): string => checkSubject(subject),
  count: checkOptionalCount,
  insertOptions: checkInsertOptions,
  isSessionId,
  /** A `findUpstream` selector: `issuer` and one of `sessionId`, `subject` (bounded strings). */
  upstreamSelector: checkUpstreamSelector,
  /** A DpopReplayCache's `remember(key, ttl)`: the ttl in whole ms. */
  replay: checkReplayInput,
});

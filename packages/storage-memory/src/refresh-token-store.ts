import { timingSafeEqual } from 'node:crypto';
import { TTLCache } from '@isaacs/ttlcache';
import {
  DEFAULT_RECEIPT_TTL,
  checkDeviceFingerprint,
  type DeviceHistoryResult,
  SessionError,
  storeInput,
  type DeleteAllResult,
  type InsertOptions,
  type InsertResult,
  type NewSessionRecord,
  type RefreshTokenStore,
  type RotateRequest,
  type RotateResult,
  type SessionRecord,
  type StoredSessionInfo,
  type UpstreamSelector,
  type UpstreamSessionRef,
} from '@jwt-session/session-core';
import { ExpiryQueue } from './expiry-queue.js';
import { decode, encode, peek } from './record-codec.js';
import { UpstreamIndex } from './upstream-index.js';

export interface MemoryRefreshTokenStoreOptions {
  /**
   * Most sessions held at once, across all subjects. When reached, `insert`
   * fails with ERR_STORAGE_UNAVAILABLE rather than silently dropping someone
   * else's session. @default unbounded
   */
  maxSessions?: number;
  /** ms since the epoch: the moment `deleteAll` reports (the subject-wide "issued before"). @default Date.now */
  clock?: () => number;
}

/** A receipt that marks an insert settled before it ran: it must never run. */
const NEVER = 'never';


function deadline(record: SessionRecord): number {
  return record.idleExpiresAt === undefined ? record.expiresAt : Math.min(record.expiresAt, record.idleExpiresAt);
}

/*
 * Hashes are compared in constant time through two buffers kept for it, not
 * two new Buffers per rotate(): hashes are at most 128 characters (storeInput
 * checks them), at most 3 bytes each in UTF-8. A view of each byte length is
 * made once. Calls are synchronous, so one pair serves all.
 */
const SCRATCH = 3 * 128;
const left = Buffer.alloc(SCRATCH);
const right = Buffer.alloc(SCRATCH);
const views: [Buffer, Buffer][] = [];

function sameHash(a: string, b: string): boolean {
  // Lengths are public (every hash is 43 characters).
  if (a.length !== b.length) return false;
  if (a.length > 128) {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }
  const bytes = left.write(a, 0, 'utf8');
  if (right.write(b, 0, 'utf8') !== bytes) return false;
  const view = (views[bytes] ??= [left.subarray(0, bytes), right.subarray(0, bytes)]);
  return timingSafeEqual(view[0], view[1]);
}

// Records are built field by field, never by spread or rest: in V8 a spread followed by more properties took ~10 µs per record.
function info(r: SessionRecord): StoredSessionInfo {
  return {
    sessionId: r.sessionId,
    subject: r.subject,
    generation: r.generation,
    createdAt: r.createdAt,
    lastRefreshedAt: r.lastRefreshedAt,
    rotatedAt: r.rotatedAt,
    expiresAt: r.expiresAt,
    idleExpiresAt: r.idleExpiresAt,
    claims: r.claims,
    context: r.context,
  };
}

/**
 * Sessions in this process's memory: for a single node, for development and
 * for tests. Every method runs to completion in one turn of the event loop,
 * which makes each one atomic. Sessions leave memory at their deadline on
 * their own, not only when read.
 *
 * Layout, chosen for bytes per session (measured in `pnpm bench`): one string
 * per session (record-codec.ts); a subject index whose value is the bare
 * session id while the subject has one session; expiry in shared 50 ms
 * buckets (expiry-queue.ts).
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #sessions = new Map<string, string>();
  readonly #bySubject = new Map<string, string | string[]>();
  readonly #maxSessions: number;
  readonly #clock: () => number;
  /** What each recent insert evicted (only those that evicted something), or NEVER. */
  /** The upstream identity of linked sessions, and the indexes a provider's logout finds them by. */
  readonly #upstream = new UpstreamIndex();
  readonly #receipts = new TTLCache<string, readonly string[] | typeof NEVER>();
  /** Per subject, each device fingerprint and when it was last seen (ms); a subject's entry expires with its newest device. */
  readonly #devices = new TTLCache<string, Map<string, number>>();
  readonly #expiry = new ExpiryQueue((sessionId, now) => {
    const text = this.#sessions.get(sessionId);
    if (text === undefined) return;
    const { due, subject } = peek(text);
    if (due <= now) this.#remove(sessionId, subject);
  });

  constructor(options: MemoryRefreshTokenStoreOptions = {}) {
    const max = options.maxSessions ?? Infinity;
    if (max !== Infinity && (!Number.isSafeInteger(max) || max < 1)) {
      throw new SessionError('ERR_CONFIG_INVALID', 'options.maxSessions must be a positive integer', undefined, 'option');
    }
    this.#maxSessions = max;
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new SessionError('ERR_CONFIG_INVALID', 'options.clock must be a function returning milliseconds', undefined, 'option');
    this.#clock = options.clock ?? Date.now;
  }

  /** Sessions held, expired ones included until their bucket is swept. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions linked to an upstream identity (`create({ upstream })`) the upstream index holds. */
  get upstreamCount(): number {
    return this.#upstream.size;
  }

  /** Subjects with an index entry. */
  get subjectCount(): number {
    return this.#bySubject.size;
  }

  async insert(input: NewSessionRecord, options: InsertOptions): Promise<InsertResult> {
    const session = storeInput.record(input);
    const { now, maxSessionsPerSubject, receiptTtl } = storeInput.insertOptions(options);
    // Settled before it ran (or a repeat): it must not evict anyone now.
    if (this.#receipts.has(session.sessionId)) return { evicted: [] };
    // Only a per-subject limit needs the subject's sessions decoded; without one, insert stays O(1) however many the subject has.
    const live = maxSessionsPerSubject === undefined ? undefined : this.#liveOf(session.subject, now);
    const evictCount = live === undefined ? 0 : Math.max(0, live.length - maxSessionsPerSubject! + 1);
    if (this.#sessions.size - evictCount + 1 > this.#maxSessions) {
      throw new SessionError('ERR_STORAGE_UNAVAILABLE', `memory store is full (${this.#maxSessions} sessions)`, undefined, 'store_full');
    }
    const evicted: string[] = [];
    if (evictCount > 0) {
      for (const record of live!.sort((a, b) => a.createdAt - b.createdAt).slice(0, evictCount)) {
        this.#remove(record.sessionId, record.subject);
        evicted.push(record.sessionId);
      }
    }
    const { createdAt } = session;
    this.#put(
      {
        sessionId: session.sessionId,
        subject: session.subject,
        tokenHash: session.tokenHash,
        previousTokenHash: undefined,
        generation: 0,
        createdAt,
        lastRefreshedAt: createdAt,
        rotatedAt: createdAt,
        expiresAt: session.expiresAt,
        idleExpiresAt: session.idleExpiresAt,
        claims: session.claims,
        context: session.context,
      },
      now,
    );
    const ids = this.#bySubject.get(session.subject);
    if (ids === undefined) this.#bySubject.set(session.subject, session.sessionId);
    else if (typeof ids === 'string') this.#bySubject.set(session.subject, [ids, session.sessionId]);
    else ids.push(session.sessionId);
    if (session.upstream !== undefined) this.#upstream.link(session.sessionId, session.upstream);
    if (evicted.length > 0) this.#receipts.set(session.sessionId, evicted, { ttl: receiptTtl ?? DEFAULT_RECEIPT_TTL });
    return { evicted };
  }

  async settleInsert(subject: string, sessionId: string, options: { now: number; receiptTtl?: number | undefined }): Promise<string[]> {
    storeInput.subjectAndId(subject, sessionId);
    const { receiptTtl } = storeInput.insertOptions(options);
    if (!storeInput.isSessionId(sessionId)) return [];
    const receipt = this.#receipts.get(sessionId);
    const text = this.#sessions.get(sessionId);
    if (text !== undefined && peek(text).subject === subject) {
      // The insert ran, and nobody holds the new session's tokens.
      this.#remove(sessionId, subject);
    } else if (receipt === undefined) {
      this.#receipts.set(sessionId, NEVER, { ttl: receiptTtl ?? DEFAULT_RECEIPT_TTL });
      return [];
    }
    return receipt === undefined || receipt === NEVER ? [] : [...receipt];
  }

  async rotate(input: RotateRequest): Promise<RotateResult> {
    const request = storeInput.rotate(input);
    const { sessionId, presentedHash, successorHash, now } = request;
    const text = this.#sessions.get(sessionId);
    if (text === undefined) return { status: 'not_found' };
    const { record, due } = decode(sessionId, text);
    if (now >= deadline(record)) {
      this.#remove(sessionId, record.subject);
      // Which deadline passed: the manager reports an idle timeout apart from the session's end.
      return deadline(record) < record.expiresAt ? { status: 'expired', idle: true } : { status: 'expired' };
    }
    if (sameHash(presentedHash, record.tokenHash)) {
      const next: SessionRecord = {
        sessionId,
        subject: record.subject,
        tokenHash: successorHash,
        previousTokenHash: record.tokenHash,
        generation: record.generation + 1,
        createdAt: record.createdAt,
        lastRefreshedAt: now,
        rotatedAt: now,
        expiresAt: record.expiresAt,
        idleExpiresAt: request.idleTtl === undefined ? record.idleExpiresAt : Math.min(now + request.idleTtl, record.expiresAt),
        // Both fresh copies (decoded above, or copied by storeInput.rotate), so the caller shares nothing with what is stored.
        claims: request.claims ?? record.claims,
        context: request.context === undefined ? record.context : { ...record.context, ...request.context },
      };
      // Only idle expiry moves the deadline. When it stays, so does the moment the session leaves memory, which is already queued: queueing it again would add an entry per rotation until then.
      if (deadline(next) === deadline(record)) this.#sessions.set(sessionId, encode(next, due));
      else this.#put(next, now);
      return { status: 'rotated', session: info(next) };
    }
    if (record.previousTokenHash !== undefined && sameHash(presentedHash, record.previousTokenHash)) {
      const inGrace = request.reuseInterval > 0 && now - record.rotatedAt <= request.reuseInterval;
      if (inGrace && sameHash(successorHash, record.tokenHash)) return { status: 'grace', session: info(record) };
      if (!inGrace) {
        if (request.revokePrevious === false) return { status: 'reused', subject: record.subject, revoked: false };
        this.#remove(sessionId, record.subject);
        return { status: 'reused', subject: record.subject };
      }
    }
    // The current hash and generation let the manager tell an older token of the chain from one past it.
    return { status: 'mismatch', subject: record.subject, tokenHash: record.tokenHash, generation: record.generation };
  }

  async list(subject: string, now: number): Promise<StoredSessionInfo[]> {
    storeInput.subject(subject);
    storeInput.now(now);
    return this.#liveOf(subject, now)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((record) => this.#withUpstream(info(record)));
  }

  /** The live sessions linked to the upstream session or user: through the index, never a scan. */
  async findUpstream(selector: UpstreamSelector, now: number): Promise<UpstreamSessionRef[]> {
    const checked = storeInput.upstreamSelector(selector);
    storeInput.now(now);
    const found: UpstreamSessionRef[] = [];
    for (const sessionId of this.#upstream.find(checked)) {
      const record = this.#live(sessionId, now);
      if (record !== undefined) found.push({ subject: record.subject, sessionId });
    }
    return found;
  }

  async delete(subject: string, sessionId: string, now: number): Promise<boolean> {
    storeInput.subjectAndId(subject, sessionId);
    storeInput.now(now);
    const text = this.#sessions.get(sessionId);
    if (text === undefined) return false;
    const { record } = decode(sessionId, text);
    if (record.subject !== subject) return false;
    this.#remove(sessionId, subject);
    return now < deadline(record);
  }

  async deleteAll(subject: string, now: number): Promise<DeleteAllResult> {
    storeInput.subject(subject);
    storeInput.now(now);
    const live = this.#liveOf(subject, now).map((record) => record.sessionId);
    for (const sessionId of this.#idsOf(subject)) {
      // An insert's receipt goes with its session: the subject-wide rule now covers what it evicted.
      this.#receipts.delete(sessionId);
      this.#remove(sessionId, subject);
    }
    return { sessionIds: live, at: this.#clock() };
  }

  /** The subject's device history (issue 22): known, new or first; the `max` most recently seen kept, each for `ttl` ms. */
  async rememberDevice(subject: string, fingerprint: string, options: { now: number; ttl: number; max: number }): Promise<DeviceHistoryResult> {
    storeInput.subject(subject);
    const { now, ttl, max } = checkDeviceFingerprint(subject, fingerprint, options);
    const history = this.#devices.get(subject) ?? new Map<string, number>();
    for (const [seen, at] of history) if (at + ttl <= now) history.delete(seen);
    const answer: DeviceHistoryResult = history.has(fingerprint) ? 'known' : history.size === 0 ? 'first' : 'new';
    // Re-inserted, so the Map's order is least recently seen first.
    history.delete(fingerprint);
    history.set(fingerprint, now);
    for (const seen of history.keys()) {
      if (history.size <= max) break;
      history.delete(seen);
    }
    this.#devices.set(subject, history, { ttl });
    return answer;
  }

  /** Subjects with a device history (tests, operators). */
  get deviceHistorySize(): number {
    return this.#devices.size;
  }

  async close(): Promise<void> {
    this.#devices.clear();
    this.#devices.cancelTimer();
    this.#expiry.clear();
    this.#receipts.clear();
    this.#receipts.cancelTimer();
    this.#sessions.clear();
    this.#bySubject.clear();
    this.#upstream.clear();
  }

  #withUpstream(session: StoredSessionInfo): StoredSessionInfo {
    const upstream = this.#upstream.get(session.sessionId);
    if (upstream !== undefined) session.upstream = upstream;
    return session;
  }

  /** Stores the record (JSON round trip, so callers keep no reference into the store) and schedules its removal. */
  #put(record: SessionRecord, now: number): void {
    const due = Date.now() + Math.max(0, deadline(record) - now);
    this.#sessions.set(record.sessionId, encode(record, due));
    this.#expiry.add(record.sessionId, due);
  }

  #live(sessionId: string, now: number): SessionRecord | undefined {
    const text = this.#sessions.get(sessionId);
    if (text === undefined) return undefined;
    const { record } = decode(sessionId, text);
    if (now < deadline(record)) return record;
    this.#remove(sessionId, record.subject);
    return undefined;
  }

  #liveOf(subject: string, now: number): SessionRecord[] {
    const live: SessionRecord[] = [];
    for (const sessionId of this.#idsOf(subject)) {
      const record = this.#live(sessionId, now);
      if (record !== undefined) live.push(record);
    }
    return live;
  }

  #idsOf(subject: string): string[] {
    const ids = this.#bySubject.get(subject);
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids];
  }

  #remove(sessionId: string, subject: string): void {
    this.#sessions.delete(sessionId);
    this.#upstream.unlink(sessionId);
    const ids = this.#bySubject.get(subject);
    if (ids === undefined) return;
    if (typeof ids === 'string') {
      if (ids === sessionId) this.#bySubject.delete(subject);
      return;
    }
    const rest = ids.filter((id) => id !== sessionId);
    if (rest.length === 0) this.#bySubject.delete(subject);
    else this.#bySubject.set(subject, rest.length === 1 ? rest[0]! : rest);
  }
}

import { timingSafeEqual } from 'node:crypto';
import { DEFAULT_RECEIPT_TTL, checkDeviceFingerprint, matchesUpstream, parseInvalidationEvent, storeInput, type DeviceHistoryResult, type DpopReplayCache, type UpstreamSelector, type UpstreamSessionRef } from '../src/index.js';
import type {
  DeleteAllResult,
  InsertOptions,
  InsertResult,
  InvalidAccessTokenCache,
  InvalidationBroadcaster,
  InvalidationEvent,
  InvalidationReceiver,
  InvalidationSubscription,
  NewSessionRecord,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionRecord,
  StoredSessionInfo,
} from '../src/index.js';

/*
 * The plainest storage that meets session-core's contracts, for session-core's
 * own tests. It lives here, not in @jwt-session/storage-memory, so session-core
 * has no dependency (not even a dev one) on a package that depends on it: the
 * workspace builds in one direction. conformance.test.ts runs the shipped
 * suites against it, which is what proves it meets the contracts. Written for
 * obviousness, not footprint: records are plain objects, expiry is checked on
 * access only.
 */

const deadline = (r: SessionRecord) => (r.idleExpiresAt === undefined ? r.expiresAt : Math.min(r.expiresAt, r.idleExpiresAt));

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function info(record: SessionRecord): StoredSessionInfo {
  const { tokenHash: _hash, previousTokenHash: _previous, ...rest } = structuredClone(record);
  return rest;
}

export class ReferenceRefreshTokenStore implements RefreshTokenStore {
  readonly #sessions = new Map<string, SessionRecord>();
  /** Per inserted id: what it evicted (only when it did) or 'never' (settled before it ran), until `until` (wall clock). */
  readonly #receipts = new Map<string, { ids: string[] | 'never'; until: number }>();
  readonly #clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  /** Sessions held, expired ones included until touched. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Subjects with at least one session held. */
  get subjectCount(): number {
    return new Set([...this.#sessions.values()].map((r) => r.subject)).size;
  }

  async insert(session: NewSessionRecord, { now, maxSessionsPerSubject, receiptTtl }: InsertOptions): Promise<InsertResult> {
    // Only the upstream identity is checked here (the shipped upstream suite asks for it); the rest is the manager's checked input.
    if (session.upstream !== undefined) storeInput.record(session);
    if (this.#receipt(session.sessionId) !== undefined) return { evicted: [] };
    const live = this.#liveOf(session.subject, now).sort((a, b) => a.createdAt - b.createdAt);
    const evictCount = maxSessionsPerSubject === undefined ? 0 : Math.max(0, live.length - maxSessionsPerSubject + 1);
    const evicted = live.slice(0, evictCount).map((r) => (this.#sessions.delete(r.sessionId), r.sessionId));
    this.#sessions.set(session.sessionId, {
      ...structuredClone(session),
      previousTokenHash: undefined,
      generation: 0,
      lastRefreshedAt: session.createdAt,
      rotatedAt: session.createdAt,
    });
    if (evicted.length > 0) this.#receipts.set(session.sessionId, { ids: evicted, until: Date.now() + (receiptTtl ?? DEFAULT_RECEIPT_TTL) });
    return { evicted };
  }

  async settleInsert(subject: string, sessionId: string, { receiptTtl }: { now: number; receiptTtl?: number | undefined }): Promise<string[]> {
    const receipt = this.#receipt(sessionId);
    const record = this.#sessions.get(sessionId);
    if (record !== undefined && record.subject === subject) this.#sessions.delete(sessionId);
    else if (receipt === undefined) {
      this.#receipts.set(sessionId, { ids: 'never', until: Date.now() + (receiptTtl ?? DEFAULT_RECEIPT_TTL) });
      return [];
    }
    return receipt === undefined || receipt === 'never' ? [] : [...receipt];
  }

  #receipt(sessionId: string): string[] | 'never' | undefined {
    const entry = this.#receipts.get(sessionId);
    if (entry !== undefined && entry.until <= Date.now()) this.#receipts.delete(sessionId);
    return entry !== undefined && entry.until > Date.now() ? entry.ids : undefined;
  }

  readonly #devices = new Map<string, Map<string, number>>();

  /** The subject's device history: the plainest form of the optional capability (no expiry of whole histories). */
  async rememberDevice(subject: string, fingerprint: string, options: { now: number; ttl: number; max: number }): Promise<DeviceHistoryResult> {
    const { now, ttl, max } = checkDeviceFingerprint(subject, fingerprint, options);
    const history = this.#devices.get(subject) ?? new Map<string, number>();
    for (const [seen, at] of history) if (at + ttl <= now) history.delete(seen);
    const answer: DeviceHistoryResult = history.has(fingerprint) ? 'known' : history.size === 0 ? 'first' : 'new';
    history.delete(fingerprint);
    history.set(fingerprint, now);
    while (history.size > max) history.delete(history.keys().next().value!);
    this.#devices.set(subject, history);
    return answer;
  }

  /** Everything the device histories hold, as text: tests look for what must not be there. */
  deviceDump(): string {
    return JSON.stringify([...this.#devices].map(([subject, h]) => [subject, [...h]]));
  }

  /** A copy of one session as it is now (a backup), for `restore`: tests of a store that lost writes. */
  snapshot(sessionId: string): SessionRecord {
    return structuredClone(this.#sessions.get(sessionId)!);
  }

  /** Puts a session back as a snapshot held it, undoing the rotations since (a restored backup, a failover that lost writes). */
  restore(record: SessionRecord): void {
    this.#sessions.set(record.sessionId, structuredClone(record));
  }

  async rotate(request: RotateRequest): Promise<RotateResult> {
    const { sessionId, presentedHash, successorHash, now } = request;
    const record = this.#sessions.get(sessionId);
    if (record === undefined) return { status: 'not_found' };
    if (now >= deadline(record)) {
      this.#sessions.delete(sessionId);
      return deadline(record) < record.expiresAt ? { status: 'expired', idle: true } : { status: 'expired' };
    }
    if (sameHash(presentedHash, record.tokenHash)) {
      const next: SessionRecord = {
        ...record,
        previousTokenHash: record.tokenHash,
        tokenHash: successorHash,
        generation: record.generation + 1,
        lastRefreshedAt: now,
        rotatedAt: now,
        idleExpiresAt: request.idleTtl === undefined ? record.idleExpiresAt : Math.min(now + request.idleTtl, record.expiresAt),
        claims: structuredClone(request.claims ?? record.claims),
        context: structuredClone(request.context === undefined ? record.context : { ...record.context, ...request.context }),
      };
      this.#sessions.set(sessionId, next);
      return { status: 'rotated', session: info(next) };
    }
    if (record.previousTokenHash !== undefined && sameHash(presentedHash, record.previousTokenHash)) {
      const inGrace = request.reuseInterval > 0 && now - record.rotatedAt <= request.reuseInterval;
      if (inGrace && sameHash(successorHash, record.tokenHash)) return { status: 'grace', session: info(record) };
      if (!inGrace) {
        if (request.revokePrevious === false) return { status: 'reused', subject: record.subject, revoked: false };
        this.#sessions.delete(sessionId);
        return { status: 'reused', subject: record.subject };
      }
    }
    return { status: 'mismatch', subject: record.subject, tokenHash: record.tokenHash, generation: record.generation };
  }

  async list(subject: string, now: number): Promise<StoredSessionInfo[]> {
    return this.#liveOf(subject, now)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map(info);
  }

  async delete(subject: string, sessionId: string, now: number): Promise<boolean> {
    const record = this.#sessions.get(sessionId);
    if (record === undefined || record.subject !== subject) return false;
    this.#sessions.delete(sessionId);
    return now < deadline(record);
  }

  async deleteAll(subject: string, now: number): Promise<DeleteAllResult> {
    const live = this.#liveOf(subject, now).map((r) => r.sessionId);
    for (const [id, record] of this.#sessions) {
      if (record.subject !== subject) continue;
      this.#sessions.delete(id);
      this.#receipts.delete(id);
    }
    return { sessionIds: live, at: this.#clock() };
  }

  /** A scan: this store is the plain model; the real stores look up an index. */
  async findUpstream(selector: UpstreamSelector, now: number): Promise<UpstreamSessionRef[]> {
    const checked = storeInput.upstreamSelector(selector);
    return [...this.#sessions.values()].filter((r) => now < deadline(r) && matchesUpstream(r.upstream, checked)).map((r) => ({ subject: r.subject, sessionId: r.sessionId }));
  }

  async close(): Promise<void> {
    this.#sessions.clear();
    this.#receipts.clear();
  }

  #liveOf(subject: string, now: number): SessionRecord[] {
    const live: SessionRecord[] = [];
    for (const [id, record] of this.#sessions) {
      if (record.subject !== subject) continue;
      if (now < deadline(record)) live.push(record);
      else this.#sessions.delete(id);
    }
    return live;
  }
}

/** Entries expire by wall-clock time, as the contract's `ttl` is a duration. */
export class ReferenceInvalidAccessTokenCache implements InvalidAccessTokenCache {
  readonly #sessions = new Map<string, number>();
  readonly #subjects = new Map<string, { at: number; until: number }>();

  invalidateSession(sessionId: string, ttl: number): void {
    if (!(ttl > 0)) return;
    const until = Date.now() + ttl;
    if ((this.#sessions.get(sessionId) ?? 0) < until) this.#sessions.set(sessionId, until);
  }

  invalidateSubject(subject: string, at: number, ttl: number): void {
    if (!(ttl > 0)) return;
    const previous = this.#subjects.get(subject);
    const until = Date.now() + ttl;
    this.#subjects.set(subject, { at: Math.max(previous?.at ?? at, at), until: Math.max(previous?.until ?? until, until) });
  }

  isSessionInvalidated(sessionId: string): boolean {
    const until = this.#sessions.get(sessionId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#sessions.delete(sessionId);
    return false;
  }

  subjectInvalidatedAt(subject: string): number | undefined {
    const entry = this.#subjects.get(subject);
    if (entry === undefined) return undefined;
    if (entry.until > Date.now()) return entry.at;
    this.#subjects.delete(subject);
    return undefined;
  }

  /** Entries held (sessions + subjects), expired ones included until touched. */
  get size(): number {
    return this.#sessions.size + this.#subjects.size;
  }

  close(): void {
    this.#sessions.clear();
    this.#subjects.clear();
  }
}

/** The simplest replay cache: a Map of deadlines (wall clock, as `ttl` is a duration); `shared` lets two instances act as two nodes of one backend. */
export class ReferenceDpopReplayCache implements DpopReplayCache {
  readonly #until: Map<string, number>;

  constructor(shared = new Map<string, number>()) {
    this.#until = shared;
  }

  /** A second node over the same backend. */
  peer(): ReferenceDpopReplayCache {
    return new ReferenceDpopReplayCache(this.#until);
  }

  async remember(key: string, ttl: number): Promise<'fresh' | 'replayed'> {
    storeInput.replay(key, ttl);
    if ((this.#until.get(key) ?? 0) > Date.now()) return 'replayed';
    this.#until.set(key, Date.now() + ttl);
    return 'fresh';
  }

  async forget(key: string): Promise<void> {
    storeInput.replay(key, 1);
    this.#until.delete(key);
  }
}

/** Links managers inside one process; a late subscriber is replayed the events still in force. */
export class ReferenceBroadcaster implements InvalidationBroadcaster {
  readonly #receivers = new Set<InvalidationReceiver>();
  #log: InvalidationEvent[] = [];

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    for (const event of this.#recent()) deliver(receiver, event);
    this.#receivers.add(receiver);
    let open = true;
    return {
      publish: async (event) => {
        if (!open) throw new Error('subscription is closed');
        const copy = parseInvalidationEvent(event);
        if (copy === undefined) return;
        this.#log = [...this.#recent(), copy];
        for (const other of this.#receivers) if (other !== receiver) deliver(other, copy);
      },
      ready: async () => undefined,
      close: async () => {
        open = false;
        this.#receivers.delete(receiver);
      },
    };
  }

  /** Events still in force. */
  get size(): number {
    return this.#recent().length;
  }

  #recent(): InvalidationEvent[] {
    const now = Date.now();
    return this.#log.filter((event) => event.expiresAt > now);
  }
}

function deliver(receiver: InvalidationReceiver, event: InvalidationEvent): void {
  const copy = parseInvalidationEvent(event);
  if (copy === undefined) return;
  try {
    if (copy.type === 'session') receiver.restrictOne(copy);
    else receiver.restrictAll(copy);
  } catch {
    // One receiver's failure must not keep the event from the others.
  }
}

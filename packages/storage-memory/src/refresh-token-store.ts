import { TTLCache } from '@isaacs/ttlcache';
import { timingSafeEqual } from 'node:crypto';
import {
  SessionError,
  type InsertOptions,
  type InsertResult,
  type NewSessionRecord,
  type RefreshTokenStore,
  type RotateRequest,
  type RotateResult,
  type SessionRecord,
  type StoredSessionInfo,
} from '@jwt-session/session-core';

export interface MemoryRefreshTokenStoreOptions {
  /**
   * Most sessions held at once, across all subjects. When reached, `insert`
   * fails with ERR_STORAGE_UNAVAILABLE rather than silently dropping someone
   * else's session. @default unbounded
   */
  maxSessions?: number;
}

function deadline(record: SessionRecord): number {
  return record.idleExpiresAt === undefined ? record.expiresAt : Math.min(record.expiresAt, record.idleExpiresAt);
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function info(record: SessionRecord): StoredSessionInfo {
  const { tokenHash: _hash, previousTokenHash: _previous, ...rest } = record;
  return structuredClone(rest);
}

/**
 * Sessions in this process's memory: for a single node, for development and
 * for tests. Every method runs to completion in one turn of the event loop,
 * which makes each one atomic. Sessions leave memory at their deadline on
 * their own (a timer per expiry bucket), not only when read.
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #sessions: TTLCache<string, SessionRecord>;
  readonly #bySubject = new Map<string, Set<string>>();
  readonly #maxSessions: number;

  constructor(options: MemoryRefreshTokenStoreOptions = {}) {
    const max = options.maxSessions ?? Infinity;
    if (max !== Infinity && (!Number.isSafeInteger(max) || max < 1)) {
      throw new SessionError('ERR_CONFIG_INVALID', 'options.maxSessions must be a positive integer');
    }
    this.#maxSessions = max;
    this.#sessions = new TTLCache<string, SessionRecord>({
      dispose: (record, sessionId, reason) => {
        if (reason !== 'set') this.#unindex(record.subject, sessionId);
      },
    });
  }

  /** Sessions held, expired ones included until their timer fires. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Subjects with an index entry. */
  get subjectCount(): number {
    return this.#bySubject.size;
  }

  async insert(session: NewSessionRecord, { now, maxSessionsPerSubject }: InsertOptions): Promise<InsertResult> {
    const live = this.#liveOf(session.subject, now);
    const evictCount = maxSessionsPerSubject === undefined ? 0 : Math.max(0, live.length - maxSessionsPerSubject + 1);
    if (this.#sessions.size - evictCount + 1 > this.#maxSessions) {
      throw new SessionError('ERR_STORAGE_UNAVAILABLE', `memory store is full (${this.#maxSessions} sessions)`);
    }
    const evicted = live
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, evictCount)
      .map((record) => {
        this.#sessions.delete(record.sessionId);
        return record.sessionId;
      });
    const record: SessionRecord = {
      ...structuredClone(session),
      previousTokenHash: undefined,
      generation: 0,
      lastRefreshedAt: session.createdAt,
      rotatedAt: session.createdAt,
    };
    this.#put(record, now);
    let ids = this.#bySubject.get(session.subject);
    if (ids === undefined) this.#bySubject.set(session.subject, (ids = new Set()));
    ids.add(session.sessionId);
    return { evicted };
  }

  async rotate(request: RotateRequest): Promise<RotateResult> {
    const { sessionId, presentedHash, successorHash, now } = request;
    const record = this.#sessions.get(sessionId);
    if (record === undefined) return { status: 'not_found' };
    if (now >= deadline(record)) {
      this.#sessions.delete(sessionId);
      return { status: 'expired' };
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
        claims: request.claims === undefined ? record.claims : structuredClone(request.claims),
        context: request.context === undefined ? record.context : { ...record.context, ...structuredClone(request.context) },
      };
      this.#put(next, now);
      return { status: 'rotated', session: info(next) };
    }
    if (record.previousTokenHash !== undefined && sameHash(presentedHash, record.previousTokenHash)) {
      const inGrace = request.reuseInterval > 0 && now - record.rotatedAt <= request.reuseInterval;
      if (inGrace && sameHash(successorHash, record.tokenHash)) return { status: 'grace', session: info(record) };
      if (!inGrace) {
        this.#sessions.delete(sessionId);
        return { status: 'reused', subject: record.subject };
      }
    }
    return { status: 'mismatch', subject: record.subject, generation: record.generation, tokenHash: record.tokenHash };
  }

  async get(sessionId: string, now: number): Promise<StoredSessionInfo | undefined> {
    const record = this.#live(sessionId, now);
    return record === undefined ? undefined : info(record);
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

  async deleteAll(subject: string, now: number): Promise<string[]> {
    const live = this.#liveOf(subject, now).map((record) => record.sessionId);
    for (const sessionId of [...(this.#bySubject.get(subject) ?? [])]) this.#sessions.delete(sessionId);
    return live;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
    this.#sessions.cancelTimer();
    this.#bySubject.clear();
  }

  #put(record: SessionRecord, now: number): void {
    this.#sessions.set(record.sessionId, record, { ttl: Math.max(1, Math.ceil(deadline(record) - now)) });
  }

  #live(sessionId: string, now: number): SessionRecord | undefined {
    const record = this.#sessions.get(sessionId);
    if (record === undefined || now < deadline(record)) return record;
    this.#sessions.delete(sessionId);
    return undefined;
  }

  #liveOf(subject: string, now: number): SessionRecord[] {
    const live: SessionRecord[] = [];
    for (const sessionId of [...(this.#bySubject.get(subject) ?? [])]) {
      const record = this.#live(sessionId, now);
      if (record !== undefined) live.push(record);
    }
    return live;
  }

  #unindex(subject: string, sessionId: string): void {
    const ids = this.#bySubject.get(subject);
    if (ids === undefined) return;
    ids.delete(sessionId);
    if (ids.size === 0) this.#bySubject.delete(subject);
  }
}

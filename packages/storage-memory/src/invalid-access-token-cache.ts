import { TTLCache } from '@isaacs/ttlcache';
import { SessionError, type InvalidAccessTokenCache } from '@jwt-session/session-core';

/** Sessions and subjects are strings, times and ttls finite numbers: anything else is a caller's bug, answered with a coded error. */
function bad(): never {
  throw new SessionError('ERR_CLAIMS_INVALID', 'invalidation cache: the id must be a string and times finite numbers', undefined, 'input');
}
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * This node's memory of revoked access tokens. Unbounded on purpose: dropping
 * an entry would un-revoke a token. Every entry leaves on its own when the
 * tokens it rejects have expired, which bounds it by the revocation rate times
 * the access-token lifetime.
 */
export class MemoryInvalidAccessTokenCache implements InvalidAccessTokenCache {
  readonly #sessions = new TTLCache<string, true>();
  readonly #subjects = new TTLCache<string, number>();
  #version = 0;

  /** Changes whenever an invalidation is recorded: read() skips the lookups for cached tokens checked since (see session-core's InvalidAccessTokenCache). */
  get version(): number {
    return this.#version;
  }

  invalidateSession(sessionId: string, ttl: number): void {
    if (typeof sessionId !== 'string' || !isTime(ttl)) bad();
    if (!(ttl > 0) || this.#sessions.getRemainingTTL(sessionId) >= ttl) return;
    this.#sessions.set(sessionId, true, { ttl: Math.ceil(ttl) });
    this.#version++;
  }

  invalidateSubject(subject: string, at: number, ttl: number): void {
    if (typeof subject !== 'string' || !isTime(at) || !isTime(ttl)) bad();
    if (!(ttl > 0)) return;
    const previous = this.#subjects.get(subject);
    const remaining = this.#subjects.getRemainingTTL(subject);
    this.#subjects.set(subject, previous === undefined ? at : Math.max(previous, at), { ttl: Math.ceil(Math.max(ttl, remaining)) });
    this.#version++;
  }

  // The two reads below run on every read() of an access token: plain Map
  // lookups (TTLCache's own has/get allocate an options object per call).
  // Entries are purged by TTLCache's timer at expiry.
  isSessionInvalidated(sessionId: string): boolean {
    if (typeof sessionId !== 'string') bad();
    return this.#sessions.data.has(sessionId);
  }

  subjectInvalidatedAt(subject: string): number | undefined {
    if (typeof subject !== 'string') bad();
    return this.#subjects.data.get(subject);
  }

  /** Entries held (sessions + subjects). */
  get size(): number {
    return this.#sessions.size + this.#subjects.size;
  }

  close(): void {
    for (const cache of [this.#sessions, this.#subjects]) {
      cache.clear();
      cache.cancelTimer();
    }
  }
}

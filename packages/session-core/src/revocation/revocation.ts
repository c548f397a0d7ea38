import { SessionError } from '../errors.js';
import { tokenIdTime } from '../lib/ids.js';
import type { InvalidAccessTokenCache, InvalidationBroadcaster, InvalidationEvent, InvalidationReason, InvalidationSubscription } from '../storage.js';
import type { AccessTokenClaims } from '../types.js';
import { MAX_EVENT_SESSION_IDS } from './event.js';
import { announce, applyToCache, remoteInvalidations, type InvalidationEmit } from './receiver.js';
import { BackgroundRetries } from './retries.js';

export interface RevocationOptions {
  cache: InvalidAccessTokenCache;
  broadcaster: InvalidationBroadcaster | undefined;
  clock: () => number;
  /** Seconds of leeway a verifier grants past `exp`. */
  clockTolerance: number;
  /** ms an invalidation must be remembered: the longest an access token issued now can still verify. */
  ttl: number;
  /** Announces what was applied (the manager's events). */
  emit: InvalidationEmit;
  /** Told of each background retry of a broadcast (metrics). */
  onRetry?: (() => void) | undefined;
}

type RevocationClaims = Pick<AccessTokenClaims, 'sub' | 'sid' | 'jti'>;

/** sub, sid and jti, each read once; anything else is not claims `read()` returned. */
function readClaims(claims: unknown): RevocationClaims {
  let sub: unknown;
  let sid: unknown;
  let jti: unknown;
  try {
    ({ sub, sid, jti } = claims as Record<string, unknown>);
  } catch {
    // null, undefined or a throwing getter: handled below.
  }
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') {
    throw new SessionError('ERR_AUTH_TOKEN_INVALID', 'claims must hold string sub, sid and jti', undefined, 'missing_claim');
  }
  return { sub, sid, jti };
}

function unavailable(cause: unknown): SessionError {
  return new SessionError('ERR_STORAGE_UNAVAILABLE', 'an invalidation could not be broadcast yet; it is retried', { cause }, 'broadcast');
}

/**
 * Revocation in one place: this node's invalidation cache (local apply and
 * `isRevoked`), the broadcast to other nodes with retries until it goes
 * through, the reconciliation of operations whose outcome is unknown, and
 * other nodes' events, checked once by `parseInvalidationEvent`.
 *
 * The order is always: this node's cache, then events (local sockets), then
 * the broadcast. A revocation therefore holds on this node even when nothing
 * else answers, and the caller is told (ERR_STORAGE_UNAVAILABLE) when other
 * nodes are not yet aware.
 */
export class Revocation {
  readonly #o: RevocationOptions;
  readonly #retries = new BackgroundRetries();
  readonly #subscription: InvalidationSubscription | undefined;
  #closed = false;

  constructor(options: RevocationOptions) {
    this.#o = options;
    // Kept off the manager's public surface: only the broadcaster holds this receiver.
    const receiver = remoteInvalidations(options.cache, options.clock, options.clockTolerance, options.emit, () => !this.#closed);
    this.#subscription = options.broadcaster?.subscribe(receiver);
  }

  /** Resolves once the broadcaster has replayed the invalidations still in force. */
  async ready(): Promise<void> {
    await this.#subscription?.ready();
  }

  /**
   * Whether this node rejects these claims: the session is invalidated, or
   * the subject is, for tokens issued at or before its moment. Synchronous.
   */
  isRevoked(claims: RevocationClaims): boolean {
    return this.revokedBy(claims) !== undefined;
  }

  /** Why this node rejects these claims (the reason of ERR_SESSION_REVOKED), or undefined when it does not. */
  revokedBy(claims: RevocationClaims): 'session_revoked' | 'subject_revoked' | undefined {
    const { sub, sid, jti } = readClaims(claims);
    const cache = this.#o.cache;
    if (cache.isSessionInvalidated(sid)) return 'session_revoked';
    const at = cache.subjectInvalidatedAt(sub);
    // Decoded only when the subject has a revocation; a jti that carries no time (NaN) fails closed.
    return at !== undefined && !(tokenIdTime(jti) > at) ? 'subject_revoked' : undefined;
  }

  /** One session's access tokens, on every node. Rejects (ERR_STORAGE_UNAVAILABLE) when other nodes could not be told yet. */
  revokeSession(subject: string, sessionId: string, reason: InvalidationReason, at: number): Promise<void> {
    const expiresAt = this.#o.clock() + this.#o.ttl;
    return this.#apply({ type: 'session', subject, sessionId, reason, at, expiresAt });
  }

  /** Every access token of the subject issued at or before `at`, and every token of `sessionIds`, on every node. */
  async revokeSubject(subject: string, at: number, sessionIds: string[]): Promise<void> {
    const expiresAt = Math.max(at, this.#o.clock()) + this.#o.ttl;
    // An event carries at most MAX_EVENT_SESSION_IDS ids (receivers refuse more); a larger list goes out in several.
    const chunks: string[][] = [];
    for (let n = 0; n < sessionIds.length; n += MAX_EVENT_SESSION_IDS) chunks.push(sessionIds.slice(n, n + MAX_EVENT_SESSION_IDS));
    const results = await Promise.allSettled((chunks.length === 0 ? [[]] : chunks).map((ids) => this.#apply({ type: 'subject', subject, at, expiresAt, ...(ids.length > 0 ? { sessionIds: ids } : {}) })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * An operation whose outcome is unknown (its store call timed out): `task`
   * runs in the background, again and again with backoff, until it resolves
   * (it finds out what happened and revokes what must be) or this closes.
   */
  reconcile(task: () => Promise<void>): void {
    this.#retries.schedule(task, 0);
  }

  /** Stops background retries and leaves the broadcaster. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retries.close();
    await this.#subscription?.close();
  }

  /** this node's cache → events (local sockets) → other nodes. */
  async #apply(event: InvalidationEvent): Promise<void> {
    let failure: unknown;
    try {
      applyToCache(this.#o.cache, event, this.#o.ttl);
    } catch (error) {
      // A cache that throws: still tell the sockets and the other nodes, then report it.
      failure = error;
    }
    announce(this.#o.emit, event, 'local');
    await this.#broadcast(event);
    if (failure !== undefined) throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'the invalidation cache failed', { cause: failure }, 'cache');
  }

  async #broadcast(event: InvalidationEvent): Promise<void> {
    const subscription = this.#subscription;
    if (subscription === undefined || this.#closed) return;
    try {
      await subscription.publish(event);
    } catch (cause) {
      this.#retries.schedule(() => {
        this.#o.onRetry?.();
        return subscription.publish(event);
      });
      throw unavailable(cause);
    }
  }
}

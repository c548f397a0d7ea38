import { TTLCache } from '@isaacs/ttlcache';
import { SessionError, storeInput, type DpopReplayCache } from '@jwt-session/session-core';

export interface MemoryDpopReplayCacheOptions {
  /**
   * Proofs remembered at most. When that many are live (none has expired
   * yet), a new proof is refused (ERR_STORAGE_UNAVAILABLE) rather than an
   * entry forgotten: forgetting one would let that proof be replayed.
   * A proof is remembered for its acceptance window (60 s + 5 s by default),
   * so 100,000 hold about 1,500 proofs a second. @default 100000
   */
  max?: number;
}

/**
 * This node's memory of the DPoP proofs it accepted (RFC 9449 §11.1): a proof
 * replayed to this node is refused. Per node: a proof replayed to another
 * node of a cluster is not, unless nonces or sticky sessions bind clients to
 * a node; across a cluster use `RedisDpopReplayCache` from
 * `@jwt-session/storage-redis`.
 */
export class MemoryDpopReplayCache implements DpopReplayCache {
  readonly #seen = new TTLCache<string, true>({ checkAgeOnHas: true });
  readonly #max: number;

  constructor(options: MemoryDpopReplayCacheOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new SessionError('ERR_CONFIG_INVALID', 'options.max must be a positive integer');
    this.#max = max;
  }

  /** Forgets a key `remember` recorded (a back-channel logout whose revocation failed: the provider's retry is then fresh). */
  async forget(key: string): Promise<void> {
    storeInput.replay(key, 1);
    this.#seen.delete(key);
  }

  async remember(key: string, ttl: number): Promise<'fresh' | 'replayed'> {
    const ms = storeInput.replay(key, ttl);
    // Synchronous from the check to the write: two calls cannot both find the key absent.
    if (this.#seen.has(key)) return 'replayed';
    if (this.#seen.size >= this.#max) {
      this.#seen.purgeStale();
      if (this.#seen.size >= this.#max) throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'replay cache full');
    }
    this.#seen.set(key, true, { ttl: ms });
    return 'fresh';
  }

  /** Proofs remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  close(): void {
    this.#seen.clear();
    this.#seen.cancelTimer();
  }
}

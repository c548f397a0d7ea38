import { storeInput, type DpopReplayCache } from '@jwt-session/session-core';
import { CommandQueue, DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, unavailable } from './bounded.js';
import { keyLayout, type KeyLayout } from './keys.js';
import { checkCount, checkTimeout, type RedisClient } from './util.js';

export interface RedisDpopReplayCacheOptions {
  /** Prepended to every key; must not contain `{` or `}`. @default 'jwt-session:' */
  keyPrefix?: string;
  /**
   * ms Redis has to answer once the command is sent; also how long it waits
   * unsent while the client is disconnected or Redis answers nothing. Past
   * it the proof is refused with ERR_STORAGE_UNAVAILABLE. @default 1000
   */
  commandTimeout?: number;
  /** Commands sent and not yet answered, at most; the others wait, unsent. @default 64 */
  maxInFlight?: number;
}

/**
 * The `jti`s of accepted DPoP proofs in Redis or Redis Cluster, shared by
 * every node (RFC 9449 §11.1): a proof accepted by one node and replayed to
 * another is refused there. One command per proof, `SET key 1 NX PX ttl`:
 * atomic (of two nodes racing with one proof, exactly one gets `OK`), one key
 * on one slot (so any Cluster layout serves it), expiring by itself when the
 * proof could no longer be accepted anyway. The key is `dpopReplayKey`'s hash,
 * never the raw `jti`.
 *
 * Fails closed: when Redis does not confirm the proof is fresh within
 * `commandTimeout` (down, paused, failing over), `remember` rejects with
 * ERR_STORAGE_UNAVAILABLE and `checkDpopReplay` refuses the proof.
 *
 * The client belongs to the caller: the cache never connects, quits or
 * reconfigures it.
 *
 * @example
 * ```ts
 * const replayCache = new RedisDpopReplayCache(redis);
 * await checkDpopReplay(replayCache, verifyDpopProof(proofHeader, request));
 * ```
 */
export class RedisDpopReplayCache implements DpopReplayCache {
  readonly #client: RedisClient;
  readonly #keys: KeyLayout;
  readonly #queue: CommandQueue;

  constructor(client: RedisClient, options: RedisDpopReplayCacheOptions = {}) {
    this.#client = client;
    this.#keys = keyLayout(options.keyPrefix);
    const timeout = checkTimeout(options.commandTimeout, 'commandTimeout', DEFAULT_COMMAND_TIMEOUT);
    this.#queue = new CommandQueue(client, timeout, checkCount(options.maxInFlight, 'maxInFlight', DEFAULT_MAX_IN_FLIGHT));
  }

  /** The key layout in use (for operators and tests). */
  get keys(): KeyLayout {
    return this.#keys;
  }

  async remember(key: string, ttl: number): Promise<'fresh' | 'replayed'> {
    const ms = storeInput.replay(key, ttl);
    const reply = await this.#queue.run('dpopReplay', () => this.#client.call('SET', this.#keys.dpopProof(key), '1', 'NX', 'PX', ms));
    if (reply === 'OK') return 'fresh';
    if (reply === null) return 'replayed';
    // Neither answer of SET NX: nothing here can vouch for the proof.
    throw unavailable('dpopReplay', 'unexpected reply to SET NX', true);
  }

  /** Forgets a key `remember` recorded (a back-channel logout whose revocation failed: the provider's retry is then fresh). */
  async forget(key: string): Promise<void> {
    storeInput.replay(key, 1);
    await this.#queue.run('dpopReplay', () => this.#client.call('DEL', this.#keys.dpopProof(key)));
  }

  /** Nothing to release: the client is the caller's to close. */
  async close(): Promise<void> {}
}

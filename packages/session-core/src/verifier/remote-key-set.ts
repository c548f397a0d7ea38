import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWTHeaderParameters } from 'jose';
import { SessionError } from '../errors.js';
import { invalidAccessToken } from '../lib/access-token.js';
import { fetchJwks } from './jwks-fetch.js';

export interface RemoteKeySetOptions {
  url: URL;
  /** ms: after a fetch, no other before this (doubled after each consecutive failure, up to MAX_BACKOFF_FACTOR times). */
  cooldown: number;
  /** ms a fetched set counts as current; past it, the next token fetches it again. */
  cacheMaxAge: number;
  /** ms past cacheMaxAge the last good set is still used while fetches fail. */
  maxStaleAge: number;
  timeout: number;
  maxBytes: number;
  clock: () => number;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;
type KeyLike = Awaited<ReturnType<LocalKeySet>>;

/** While fetches keep failing, the wait between them doubles from the cooldown up to this many cooldowns. */
export const MAX_BACKOFF_FACTOR = 4;

const unavailable = (cause: unknown) => new SessionError('ERR_STORAGE_UNAVAILABLE', 'the key set could not be fetched', { cause }, 'jwks');

/**
 * The set's key for a token's header. jose's own verdicts on the choice (no
 * key of that kid, several) pass through; any other failure is jose refusing
 * the key the set names (RSA under 2048 bits, a malformed JWK): the token is
 * invalid, with a reason of its own, never an outage (issue 26 §4).
 */
async function keyOf(set: LocalKeySet, header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<KeyLike> {
  try {
    return await set(header, token);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    throw invalidAccessToken('unusable_key');
  }
}

/**
 * A JWK Set fetched from a URL and kept, in place of jose's
 * createRemoteJWKSet, whose cooldown starts only after a successful fetch:
 * while the key server failed, every token with an unknown `kid` fetched
 * again (hundreds of fetches a second from junk tokens), and once the cache
 * aged out, every genuine token was refused.
 *
 * The rules, whatever the last fetch's outcome:
 * - at most one fetch per cooldown, measured from the end of the last attempt;
 *   after n consecutive failures the wait is cooldown·2^(n−1), at most
 *   MAX_BACKOFF_FACTOR cooldowns. Concurrent callers share one fetch;
 * - a token is judged against the last good set while that set is usable:
 *   current (younger than cacheMaxAge), or stale but within maxStaleAge of
 *   it while refreshes fail (stale-if-error);
 * - a `kid` that the usable set does not hold refetches if the rule above
 *   allows, else not; either way, if the set still does not hold it the
 *   token is invalid (401): a token is "unknown" against the keys in hand,
 *   and a failing key server does not make junk tokens look like an outage;
 * - ERR_STORAGE_UNAVAILABLE (503) only when there is no usable set and the
 *   fetch failed (now, or the last one, whose backoff still runs).
 *
 * A key the set holds but that cannot be used (an RSA key under 2048 bits, a
 * malformed JWK) fails in jose's key import: the token is invalid, not an
 * outage.
 */
export class RemoteKeySet {
  readonly #o: RemoteKeySetOptions;
  #set: LocalKeySet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #lastError: unknown;
  #pending: Promise<void> | undefined;

  constructor(options: RemoteKeySetOptions) {
    this.#o = options;
  }

  /** jose's key-resolver: the key for a token's header, fetched (within the limits above) when needed. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<KeyLike> => {
    if (!this.#isCurrent() && this.#mayFetch()) await this.#refresh();
    const set = this.#usable();
    if (set === undefined) throw unavailable(this.#lastError);
    try {
      return await keyOf(set, header, token);
    } catch (error) {
      // No key for this kid/alg: perhaps rotated in since the last fetch. Any other failure is the key's or the token's.
      if ((error as { code?: unknown } | null)?.code !== 'ERR_JWKS_NO_MATCHING_KEY' || !this.#mayFetch()) throw error;
    }
    await this.#refresh();
    return keyOf(this.#usable() ?? set, header, token);
  };

  /** Fetches unless a current set is in hand (within the same limits); rejects with ERR_STORAGE_UNAVAILABLE when no usable set results. */
  async prefetch(): Promise<void> {
    if (!this.#isCurrent() && this.#mayFetch()) await this.#refresh();
    if (this.#usable() === undefined) throw unavailable(this.#lastError);
  }

  #isCurrent(): boolean {
    return this.#set !== undefined && this.#o.clock() < this.#fetchedAt + this.#o.cacheMaxAge;
  }

  #usable(): LocalKeySet | undefined {
    return this.#o.clock() < this.#fetchedAt + this.#o.cacheMaxAge + this.#o.maxStaleAge ? this.#set : undefined;
  }

  #mayFetch(): boolean {
    if (this.#pending !== undefined) return true; // joining a fetch under way costs the server nothing
    const wait = this.#o.cooldown * Math.min(2 ** Math.max(this.#failures - 1, 0), MAX_BACKOFF_FACTOR);
    return this.#o.clock() >= this.#attemptedAt + wait;
  }

  #refresh(): Promise<void> {
    this.#pending ??= this.#fetch().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Never rejects: the outcome is recorded, and the callers decide from the state. */
  async #fetch(): Promise<void> {
    try {
      const set = createLocalJWKSet((await fetchJwks(this.#o.url, this.#o)) as JSONWebKeySet);
      this.#set = set;
      this.#fetchedAt = this.#o.clock();
      this.#failures = 0;
      this.#lastError = undefined;
    } catch (error) {
      this.#failures++;
      this.#lastError = error;
    } finally {
      this.#attemptedAt = this.#o.clock();
    }
  }
}

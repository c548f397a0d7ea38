import type { InvalidAccessTokenCache } from '../storage.js';
import type { AccessTokenClaims } from '../types.js';

export interface VerifiedToken {
  /** The exact string that was verified. */
  token: string;
  claims: AccessTokenClaims;
  /** ms: the token stops verifying at this moment (exp plus tolerance). */
  validUntil: number;
  /** The invalidation cache's `version` when this token last passed the revocation lookups (see `checkRevocation`). */
  checkedVersion?: number | undefined;
}

/**
 * Runs `check` (which throws when the token is revoked) unless the
 * invalidation cache has a version and it has not changed since this entry
 * last passed: nothing recorded since can revoke it.
 */
export function checkRevocation(entry: VerifiedToken, cache: InvalidAccessTokenCache, check: (entry: VerifiedToken) => void): void {
  const version = cache.version;
  if (version !== undefined && entry.checkedVersion === version) return;
  check(entry);
  entry.checkedVersion = version;
}

/**
 * A small integer from five characters at the end of the token, which lie in
 * the signature: uniformly random for genuine tokens. Indexing by it instead
 * of by the whole token matters because every request brings a new string
 * object, and a Map keyed on ~400-character strings would hash all of them on
 * every lookup (measured: ~700 ns against ~50 ns for this plus the equality
 * check). Collisions only cost a cache miss: a hit also needs the whole string
 * to be equal.
 */
function slot(token: string): number {
  const n = token.length;
  return (
    (token.charCodeAt(n - 2) ^ (token.charCodeAt(n - 3) << 6) ^ (token.charCodeAt(n - 4) << 12) ^ (token.charCodeAt(n - 5) << 18) ^ (token.charCodeAt(n - 6) << 23)) &
    0x3fffffff
  );
}

/**
 * Four characters of the signature packed (7 bits each), starting `from` the
 * end, then mixed by a multiplication so that its top `bits` bits are uniform:
 * base64url character codes are not, and the raw codes of `slot` made the
 * doorkeeper admit a fifth of new tokens where a uniform index would admit a
 * tenth.
 */
function doorIndex(token: string, from: number, multiplier: number, bits: number): number {
  const n = token.length - from;
  const packed = token.charCodeAt(n) | (token.charCodeAt(n - 1) << 7) | (token.charCodeAt(n - 2) << 14) | (token.charCodeAt(n - 3) << 21);
  return Math.imul(packed, multiplier) >>> (32 - bits);
}

/*
 * The doorkeeper is a Bloom filter of two bits per token, sized from the
 * cache: 16 bits per entry rounded up to a power of two (2^21 bits, 256 KiB,
 * at the default 100,000), and cleared after an eighth of its bits' worth
 * of first sightings (2 to 4 times the cache size) so it never saturates. A
 * false positive admits a token seen once, which then evicts one that
 * clients keep sending: with one bit per token over a fixed 2^20 bits, 21 %
 * of the tokens seen once after 100,000 others were admitted (measured).
 * Now 1.3 % (measured; 0.8 % in theory), at most 4.9 % before a clear. The
 * clearing period grows with the cache because a token is admitted only if its second
 * sighting comes before the clear: with a fixed period shorter than the
 * tokens clients cycle through (case 3's million), most were never admitted.
 */
const MIN_DOOR_LOG2 = 16;
const MAX_DOOR_LOG2 = 27;

function doorLog2(max: number): number {
  const wanted = Math.ceil(Math.log2(Math.max(1, Math.min(max, 2 ** 24)) * 16));
  return Math.min(MAX_DOOR_LOG2, Math.max(MIN_DOOR_LOG2, wanted));
}

/**
 * Tokens that passed full verification, so a repeated `read()` of the exact
 * same string costs a lookup and a string comparison instead of a signature
 * check. Bounded; when full, the oldest insertion goes first (tokens are
 * inserted roughly in order of expiry). An entry is never served past
 * `validUntil`. Revocation is not cached here: the manager checks it on every
 * hit, unless the invalidation cache's version says nothing was recorded since
 * the last check (`checkRevocation`).
 *
 * Admission (`offer`) takes a token on its second verification, as TinyLFU's
 * doorkeeper does: a token seen once (a socket handshake, a scan of random
 * tokens) neither occupies the cache nor evicts the tokens clients keep
 * sending. Retaining every verified token cost 15-25 % on the cold path.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<number, VerifiedToken>();
  readonly #max: number;
  /**
   * One live iterator for evictions: a fresh `keys()` would walk past every
   * slot deleted since the Map last rehashed (measured ~36 µs per eviction on
   * a full 100k cache, against ~1 µs).
   */
  #cursor: IterableIterator<number> | undefined;
  readonly #doorBits: number;
  readonly #doorReset: number;
  readonly #door: Uint8Array;
  #doorMarks = 0;

  constructor(max: number) {
    this.#max = max;
    this.#doorBits = doorLog2(max);
    this.#doorReset = 2 ** (this.#doorBits - 3);
    this.#door = new Uint8Array(max === 0 ? 0 : 2 ** (this.#doorBits - 3));
  }

  get(token: string, now: number): VerifiedToken | undefined {
    const key = slot(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (now < entry.validUntil) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  /** Caches the entry if its token was offered before (a false positive of the filter only admits early). */
  offer(entry: VerifiedToken): void {
    if (this.#max === 0) return;
    const door = this.#door;
    // Two bits from eight characters of the signature: random for genuine tokens.
    const a = doorIndex(entry.token, 2, 0x9e3779b1, this.#doorBits);
    const b = doorIndex(entry.token, 6, 0x85ebca6b, this.#doorBits);
    const maskA = 1 << (a & 7);
    const maskB = 1 << (b & 7);
    if ((door[a >> 3]! & maskA) !== 0 && (door[b >> 3]! & maskB) !== 0) {
      this.set(entry);
      return;
    }
    door[a >> 3]! |= maskA;
    door[b >> 3]! |= maskB;
    if (++this.#doorMarks >= this.#doorReset) {
      this.#door.fill(0);
      this.#doorMarks = 0;
    }
  }

  set(entry: VerifiedToken): void {
    if (this.#max === 0) return;
    const key = slot(entry.token);
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      this.#cursor ??= this.#entries.keys();
      let oldest = this.#cursor.next();
      if (oldest.done === true) {
        this.#cursor = this.#entries.keys();
        oldest = this.#cursor.next();
      }
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, entry);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#cursor = undefined;
    this.#door.fill(0);
    this.#doorMarks = 0;
  }
}

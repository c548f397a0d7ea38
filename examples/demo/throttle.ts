// Sign-in throttling (issue 10, item 13). Every password check costs an scrypt
// derivation, so guessing must be slow and must not be able to exhaust the
// server:
// - per account and per client address, failures beyond a free allowance
//   block further attempts for a delay that doubles with each failure
//   (1 s, 2 s, 4 s … up to 15 min); a blocked attempt is answered 429 with
//   Retry-After before any hashing, even when its password is right;
// - a success clears the account's failures (not the address's: one valid
//   account must not reset an attacker's address);
// - entries are forgotten after a quiet period, and the table is bounded.
// The bound on concurrent hashing itself is HashLimiter in users.ts.

export interface ThrottleRule {
  /** Failures in a row after which attempts are delayed. */
  free: number;
  /** First delay, ms; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ThrottleOptions {
  account?: ThrottleRule;
  address?: ThrottleRule;
  /** An entry with no failure for this long is forgotten. @default 15 min */
  forgetAfterMs?: number;
  /** Entries kept at most; the oldest go first. @default 10 000 */
  maxEntries?: number;
  /** @default Date.now */
  clock?: () => number;
}

export const DEFAULT_ACCOUNT_RULE: ThrottleRule = { free: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };
export const DEFAULT_ADDRESS_RULE: ThrottleRule = { free: 20, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

/** A sign-in refused before the password is checked; `retryAfter` in whole seconds. */
export interface Blocked {
  retryAfter: number;
  scope: 'account' | 'address';
}

export class SignInThrottle {
  readonly #rules: Record<'account' | 'address', ThrottleRule>;
  readonly #forgetAfterMs: number;
  readonly #maxEntries: number;
  readonly #clock: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: ThrottleOptions = {}) {
    this.#rules = { account: options.account ?? DEFAULT_ACCOUNT_RULE, address: options.address ?? DEFAULT_ADDRESS_RULE };
    this.#forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Whether an attempt for this account from this address may be checked now. */
  check(account: string, address: string): Blocked | undefined {
    const now = this.#clock();
    for (const [scope, key] of [['account', `a:${account}`], ['address', `i:${address}`]] as const) {
      const entry = this.#live(key, now);
      if (entry !== undefined && entry.blockedUntil > now) return { scope, retryAfter: Math.ceil((entry.blockedUntil - now) / 1000) };
    }
    return undefined;
  }

  failed(account: string, address: string): void {
    const now = this.#clock();
    this.#fail(`a:${account}`, this.#rules.account, now);
    this.#fail(`i:${address}`, this.#rules.address, now);
  }

  succeeded(account: string): void {
    this.#entries.delete(`a:${account}`);
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.lastFailure > this.#forgetAfterMs && entry.blockedUntil <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #fail(key: string, rule: ThrottleRule, now: number): void {
    const entry = this.#live(key, now) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    entry.failures += 1;
    entry.lastFailure = now;
    const over = entry.failures - rule.free;
    if (over >= 0) entry.blockedUntil = now + Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(over, 30));
    // Re-inserted last: the Map's order is then oldest failure first, which is what gets evicted.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

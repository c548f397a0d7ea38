// Sign-in throttling (issue 10, item 13). Every password check costs an scrypt
// derivation, so guessing must be slow and must not be able to exhaust the
// server:
// - per account and per client address, failures beyond a free allowance
//   block further attempts for a delay that doubles with each failure
//   (1 s, 2 s, 4 s … up to 15 min); a blocked attempt is answered 429 with
//   Retry-After before any hashing, even when its password is right;
// - a success clears the account's failures (not the address's: one valid
//   account must not reset an attacker's address);
// - entries are forgotten after a quiet period, and the table is bounded;
// - an attempt counts as pending from check() until its outcome is recorded
//   (failed / succeeded / released): hashing is slow, so otherwise many
//   parallel guesses would all pass check() before the first failure lands.
//   Pending counts live apart from the bounded table (they are bounded by the
//   requests in flight) so that they never evict a recorded failure.
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
  /** Attempts let through by check() whose outcome is not recorded yet, per key. */
  readonly #pending = new Map<string, number>();

  constructor(options: ThrottleOptions = {}) {
    this.#rules = { account: options.account ?? DEFAULT_ACCOUNT_RULE, address: options.address ?? DEFAULT_ADDRESS_RULE };
    this.#forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Whether an attempt for this account from this address may be checked now.
   * When it may (`undefined`), the attempt is pending until the caller records
   * its outcome with exactly one of failed, succeeded or released.
   */
  check(account: string, address: string): Blocked | undefined {
    const now = this.#clock();
    const keys = [['account', `a:${account}`], ['address', `i:${address}`]] as const;
    for (const [scope, key] of keys) {
      const entry = this.#live(key, now);
      if (entry !== undefined && entry.blockedUntil > now) return { scope, retryAfter: Math.ceil((entry.blockedUntil - now) / 1000) };
      // Attempts in flight count as failures-to-be: never more of them than the
      // failures still free (one at a time once the allowance is used up).
      const pending = this.#pending.get(key) ?? 0;
      if (pending > 0 && (entry?.failures ?? 0) + pending >= this.#rules[scope].free) return { scope, retryAfter: 1 };
    }
    for (const [, key] of keys) this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    return undefined;
  }

  /** The pending attempt's password was wrong. */
  failed(account: string, address: string): void {
    const now = this.#clock();
    this.released(account, address);
    this.#fail(`a:${account}`, this.#rules.account, now);
    this.#fail(`i:${address}`, this.#rules.address, now);
  }

  /** The pending attempt signed in: the account's failures are cleared. */
  succeeded(account: string, address: string): void {
    this.released(account, address);
    this.#entries.delete(`a:${account}`);
  }

  /** The pending attempt ended without a verdict on the password (busy, error): nothing is recorded. */
  released(account: string, address: string): void {
    for (const key of [`a:${account}`, `i:${address}`]) {
      const pending = this.#pending.get(key) ?? 0;
      if (pending <= 1) this.#pending.delete(key);
      else this.#pending.set(key, pending - 1);
    }
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

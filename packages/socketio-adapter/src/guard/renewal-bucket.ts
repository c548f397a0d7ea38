/** A burst of `max` renewals, refilled continuously over `windowMs`, and at least `perLifetime` per access-token lifetime. */
export interface RenewRateLimit {
  /** The burst: renewals a socket can make at once. */
  max: number;
  /** `max` renewals come back over this many ms. */
  windowMs: number;
  /**
   * Refill at least this many renewals per lifetime (`exp − iat`) of the
   * socket's current access token, when that is faster than `max` per
   * `windowMs`. Omitted: the rate is fixed.
   */
  perLifetime?: number;
}

/**
 * Sized for the client's pattern: every rotation of a session (one per
 * lifetime, ahead of expiry, and one more for each tab that loads) renews
 * every socket of that session once. A burst of 20 absorbs a handful of tabs
 * loading together; 20 a minute is far beyond 5-minute tokens' need, and
 * 4 per lifetime (twice what a steady client sends) keeps short tokens from
 * tripping it. What remains bounded is the abuse: one socket costs at most
 * one signature check every 3 s with tokens of 12 s or more.
 */
export const DEFAULT_RENEW_RATE_LIMIT: RenewRateLimit = { max: 20, windowMs: 60_000, perLifetime: 4 };

/** A token bucket per socket: each `session:renew` is a signature check, so one socket cannot ask for them without bound. */
export class RenewalBucket {
  readonly #limit: RenewRateLimit;
  readonly #clock: () => number;
  readonly #lifetimeMs: () => number | undefined;
  #left: number;
  #at: number;

  /** `lifetimeMs`: the socket's current access-token lifetime, read at each renewal (a renewed token may change it). */
  constructor(limit: RenewRateLimit, clock: () => number, lifetimeMs: () => number | undefined = () => undefined) {
    this.#limit = limit;
    this.#clock = clock;
    this.#lifetimeMs = lifetimeMs;
    this.#left = limit.max;
    this.#at = clock();
  }

  /** Renewals per ms: `max` per window, or `perLifetime` per token lifetime when that is faster. */
  #rate(): number {
    const { max, windowMs, perLifetime } = this.#limit;
    const fixed = max / windowMs;
    const lifetime = this.#lifetimeMs();
    if (perLifetime === undefined || lifetime === undefined || !(lifetime > 0)) return fixed;
    return Math.max(fixed, perLifetime / lifetime);
  }

  /** Takes one renewal if the bucket, refilled for the time since the last call, has one. */
  take(): boolean {
    const now = this.#clock();
    this.#left = Math.min(this.#limit.max, this.#left + (now - this.#at) * this.#rate());
    this.#at = now;
    if (this.#left < 1) return false;
    this.#left -= 1;
    return true;
  }
}

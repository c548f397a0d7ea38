/** `max` renewals, refilled continuously over `windowMs`. */
export interface RenewRateLimit {
  max: number;
  windowMs: number;
}

export const DEFAULT_RENEW_RATE_LIMIT: RenewRateLimit = { max: 10, windowMs: 60_000 };

/** A token bucket per socket: each `session:renew` is a signature check, so one socket cannot ask for them without bound. */
export class RenewalBucket {
  readonly #limit: RenewRateLimit;
  readonly #clock: () => number;
  #left: number;
  #at: number;

  constructor(limit: RenewRateLimit, clock: () => number) {
    this.#limit = limit;
    this.#clock = clock;
    this.#left = limit.max;
    this.#at = clock();
  }

  /** Takes one renewal if the bucket, refilled for the time since the last call, has one. */
  take(): boolean {
    const now = this.#clock();
    this.#left = Math.min(this.#limit.max, this.#left + ((now - this.#at) * this.#limit.max) / this.#limit.windowMs);
    this.#at = now;
    if (this.#left < 1) return false;
    this.#left -= 1;
    return true;
  }
}

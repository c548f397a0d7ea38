import { setDeadline, type LongTimeout, type Scheduler } from '../timers.js';

/** What the schedule expires: an entry with at most one deadline at a time. */
export interface Expiring {
  /** The deadline it is scheduled under; written only by {@link ExpirySchedule}. */
  expiryDeadline: number | undefined;
  expire(): void;
}

interface Bucket<Entry> {
  readonly entries: Set<Entry>;
  readonly timer: LongTimeout;
}

/**
 * One timer per distinct deadline, shared by every entry due then. Access
 * tokens carry `exp` in whole seconds and a node issues many in the same
 * second, so thousands of sockets share a handful of timers: a handshake adds
 * its socket to a set instead of creating, unref'ing and later clearing a
 * timer of its own (Node files each distinct delay in a list of its own, kept
 * in a priority queue). The deadline, and so when each socket expires, is
 * exactly what a timer of its own would use.
 */
export class ExpirySchedule<Entry extends Expiring> {
  readonly #scheduler: Scheduler;
  readonly #buckets = new Map<number, Bucket<Entry>>();

  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  /** Expires `entry` at `deadline` (ms since the epoch, on the scheduler's clock) instead of its previous deadline; at once if that is past. */
  set(entry: Entry, deadline: number): void {
    this.delete(entry);
    if (deadline <= this.#scheduler.now()) {
      entry.expire();
      return;
    }
    let bucket = this.#buckets.get(deadline);
    if (bucket === undefined) {
      const entries = new Set<Entry>();
      bucket = { entries, timer: setDeadline(() => this.#fire(deadline, entries), deadline, this.#scheduler) };
      this.#buckets.set(deadline, bucket);
    }
    bucket.entries.add(entry);
    entry.expiryDeadline = deadline;
  }

  delete(entry: Entry): void {
    const deadline = entry.expiryDeadline;
    if (deadline === undefined) return;
    entry.expiryDeadline = undefined;
    const bucket = this.#buckets.get(deadline);
    if (bucket === undefined || !bucket.entries.delete(entry) || bucket.entries.size > 0) return;
    // The last one left (disconnected or renewed): no timer stays behind for nobody.
    bucket.timer.clear();
    this.#buckets.delete(deadline);
  }

  /** Stops every timer and forgets every entry. */
  clear(): void {
    for (const bucket of this.#buckets.values()) {
      bucket.timer.clear();
      for (const entry of bucket.entries) entry.expiryDeadline = undefined;
    }
    this.#buckets.clear();
  }

  #fire(deadline: number, entries: Set<Entry>): void {
    // Taken out first, so that nothing an expiry sets off (the application's disconnect handlers) changes
    // the set being walked: an entry deleted meanwhile only loses its deadline, and skipped here for it.
    this.#buckets.delete(deadline);
    let failure: { error: unknown } | undefined;
    for (const entry of entries) {
      if (entry.expiryDeadline !== deadline) continue;
      entry.expiryDeadline = undefined;
      // One that throws (a listener of the application's) must not spare the others, as a timer of their own would not.
      try {
        entry.expire();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}

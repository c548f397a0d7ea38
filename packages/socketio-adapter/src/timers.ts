/** Node (and browsers) fire a timeout of more than 2^31 - 1 ms after 1 ms instead. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** ms since the epoch. */
  now(): number;
}

export const nodeScheduler: Scheduler = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    // An expiry timer must not keep a server process alive on shutdown.
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  now: Date.now,
};

export interface LongTimeout {
  clear(): void;
}

/**
 * Calls `callback` at `deadline` (ms since the epoch, on `scheduler.now`),
 * however far away, by chaining timeouts of at most {@link MAX_TIMEOUT_MS}.
 * Each link recomputes the remaining time from the deadline, so the chain does
 * not drift.
 */
export function setDeadline(callback: () => void, deadline: number, scheduler: Scheduler = nodeScheduler): LongTimeout {
  let handle: unknown;
  let cleared = false;
  const step = (): void => {
    if (cleared) return;
    const remaining = deadline - scheduler.now();
    if (remaining <= 0) {
      handle = undefined;
      callback();
      return;
    }
    handle = scheduler.setTimeout(step, Math.min(remaining, MAX_TIMEOUT_MS));
  };
  step();
  return {
    clear() {
      cleared = true;
      if (handle !== undefined) scheduler.clearTimeout(handle);
      handle = undefined;
    },
  };
}

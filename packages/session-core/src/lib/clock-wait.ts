/** Longest {@link waitPast} waits, so a session created right after a deleteAll here is not caught by its moment. */
const MAX_CLOCK_WAIT_MS = 1000;

/**
 * Waits until `clock()` is past `at` (tokens issued at or before `at` are
 * rejected). A loop, not one timer: a timer can fire before the wall clock
 * has moved on (timers run on the loop's cached monotonic time). Bounded, for
 * a clock that is far behind or that tests hold still.
 */
export async function waitPast(clock: () => number, at: number): Promise<void> {
  const waitUntil = Date.now() + MAX_CLOCK_WAIT_MS;
  for (let wait = 0; wait < 50 && clock() <= at && Date.now() < waitUntil; wait++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(MAX_CLOCK_WAIT_MS, at - clock() + 1))));
  }
}

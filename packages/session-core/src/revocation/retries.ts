const BASE_MS = 100;
const MAX_MS = 30_000;

/**
 * Background work that must not be forgotten (a broadcast that failed, an
 * operation whose outcome is unknown): each task is tried again with
 * exponential backoff until it resolves or the owner closes.
 */
export class BackgroundRetries {
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  /** Runs `task` after a backoff delay, and again after longer ones while it rejects. */
  schedule(task: () => Promise<unknown>, attempt = 1): void {
    if (this.#closed) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        task().catch(() => this.schedule(task, attempt + 1));
      },
      Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempt, 20)),
    );
    timer.unref();
    this.#timers.add(timer);
  }

  /** Tasks waiting for their next attempt. */
  get pending(): number {
    return this.#timers.size;
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

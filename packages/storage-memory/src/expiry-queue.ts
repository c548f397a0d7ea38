/** Expiry times are grouped into buckets of this many ms: one array per bucket, not one per key. */
const GRAIN = 50;
const TIMER_MAX = 2 ** 31 - 1;

/**
 * Calls `expire(id)` once the real time passes the moment an id was added with,
 * without a timer or an entry per id: ids share a bucket per 50 ms, the
 * buckets sit in a binary min-heap, and one unref'd timer waits for the
 * earliest. An id added again later is simply in two buckets: `expire` decides
 * whether it is really due, so callers never have to remove anything.
 */
export class ExpiryQueue {
  readonly #buckets = new Map<number, string[]>();
  readonly #heap: number[] = [];
  readonly #expire: (id: string, now: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(expire: (id: string, now: number) => void) {
    this.#expire = expire;
  }

  /** `at`: ms since the epoch, real time. */
  add(id: string, at: number): void {
    const bucket = Math.ceil(at / GRAIN);
    const ids = this.#buckets.get(bucket);
    if (ids !== undefined) {
      ids.push(id);
      return;
    }
    this.#buckets.set(bucket, [id]);
    this.#push(bucket);
    this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#buckets.clear();
    this.#heap.length = 0;
  }

  #arm(): void {
    const first = this.#heap[0];
    if (first === undefined || first * GRAIN >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = first * GRAIN;
    // Past 2^31 ms node would fire at once; waking early just re-arms.
    this.#timer = setTimeout(() => this.#fire(), Math.min(TIMER_MAX, Math.max(0, this.#timerAt - Date.now())));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    while (this.#heap.length > 0 && this.#heap[0]! * GRAIN <= now) {
      const bucket = this.#pop();
      const ids = this.#buckets.get(bucket) ?? [];
      this.#buckets.delete(bucket);
      for (const id of ids) this.#expire(id, now);
    }
    this.#arm();
  }

  #push(value: number): void {
    const heap = this.#heap;
    let i = heap.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= value) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = value;
  }

  #pop(): number {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const child = left + 1 < heap.length && heap[left + 1]! < heap[left]! ? left + 1 : left;
        if (heap[child]! >= last) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

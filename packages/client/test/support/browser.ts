// What a browser gives the client and Node does not: a cookie jar shared by
// the tabs of one profile, and Web Locks. Both are small real implementations
// (not recordings): the jar honours Set-Cookie and Max-Age=0, the lock manager
// grants one holder at a time in request order, like navigator.locks.
import type { LockManagerLike } from '../../src/index.js';

/** One browser profile: its cookie jar, and a fetch that uses it. */
export class Profile {
  readonly cookies = new Map<string, string>();
  /** Requests that never reached the server (offline). */
  offline = false;

  readonly fetch: typeof fetch = async (input, init = {}) => {
    if (this.offline) throw new TypeError('Failed to fetch');
    const headers = new Headers(init.headers);
    if (init.credentials !== 'omit' && this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      if (attributes.some((a) => a.trim().toLowerCase() === 'max-age=0') || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  };
}

/** navigator.locks for the "tabs" of one process: exclusive, FIFO, with ifAvailable. */
export class ProcessLocks implements LockManagerLike {
  readonly #queues = new Map<string, (() => void)[]>();
  readonly #held = new Set<string>();
  /** How many times a request found the lock taken. */
  contended = 0;

  async request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T> | T): Promise<T> {
    if (this.#held.has(name)) {
      this.contended += 1;
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve) => {
        const queue = this.#queues.get(name) ?? [];
        queue.push(resolve);
        this.#queues.set(name, queue);
      });
    }
    this.#held.add(name);
    try {
      return await callback({ name });
    } finally {
      const next = this.#queues.get(name)?.shift();
      if (next === undefined) this.#held.delete(name);
      else next(); // handed over: stays held
    }
  }
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

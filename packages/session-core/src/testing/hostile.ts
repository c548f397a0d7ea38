import { performance } from 'node:perf_hooks';
import { SESSION_ERROR_CODES } from '../errors.js';

/*
 * Inputs a caller should never pass, for the fuzz suites of every package:
 * wrong types, hostile objects, huge and ill-formed strings.
 */
const HUGE = 'x'.repeat(10 * 1024 * 1024);

function throwingProxy(): object {
  const fail = () => {
    throw new Error('hostile proxy');
  };
  return new Proxy({}, { get: fail, has: fail, ownKeys: fail, getPrototypeOf: fail, getOwnPropertyDescriptor: fail });
}

/** length 10^9, one element: cheap to make, ruinous to walk slot by slot. */
function sparseArray(): unknown[] {
  const a: unknown[] = [];
  a[1e9 - 1] = 1;
  return a;
}

function throwingGetters(): object {
  const o: Record<string, unknown> = {};
  for (const name of ['claims', 'context', 'sub', 'sid', 'jti', 'subject', 'sessionId', 'now', 'type', 'expiresAt', 'toString', 'valueOf', 'toJSON']) {
    Object.defineProperty(o, name, { enumerable: true, get: () => { throw new Error('hostile getter'); } });
  }
  return o;
}

/**
 * Values no caller should pass, for fuzz suites (mix them into fast-check's
 * `fc.anything()` with `fc.constantFrom(...hostileValues())`): hostile objects,
 * huge and ill-formed strings, odd numbers. Fresh objects on every call.
 */
export function hostileValues(): unknown[] {
  return [
    null, undefined, '', HUGE, 'eve\uD800', '\uDC00', Number.NaN, Infinity, -Infinity, -0, 2 ** 53, 1n, Symbol('s'),
    () => 1, [], sparseArray(), Object.create(null), new Date(Number.NaN), Promise.resolve(1),
    throwingProxy(), throwingGetters(), { claims: throwingProxy(), context: throwingGetters() },
  ];
}

const CODES: ReadonlySet<unknown> = new Set(SESSION_ERROR_CODES);

/**
 * Watches the event loop with a 1 ms timer chain; the returned function stops
 * it and gives the longest gap between ticks (or since the last tick), which
 * is the longest time anything held the loop meanwhile. A timer chain rather
 * than monitorEventLoopDelay, whose first sample after enable() is dropped:
 * a stall right at the start of a short call went unseen.
 */
function watchLoop(): () => number {
  let last = performance.now();
  let longest = 0;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  let timer = setTimeout(tick, 1);
  return () => {
    clearTimeout(timer);
    return Math.max(longest, performance.now() - last);
  };
}

/**
 * One run of `call`: its error, if any, and the longest event-loop stall seen,
 * the larger of the synchronous part (wall time until `call` returns its
 * promise or throws) and the longest loop stall while its promise settles.
 * Wall time, not process CPU: CPU time also counts GC, libuv's threads and
 * other work that runs while a store call is awaited, none of which holds
 * the loop.
 */
async function measure(call: () => unknown): Promise<{ error: unknown; stallMs: number }> {
  const start = performance.now();
  let syncMs: number | undefined;
  let stop: (() => number) | undefined;
  let error: unknown;
  try {
    const pending = call();
    syncMs = performance.now() - start;
    stop = watchLoop();
    await pending;
  } catch (caught) {
    syncMs ??= performance.now() - start;
    error = caught;
  }
  return { error, stallMs: Math.max(syncMs, stop?.() ?? 0) };
}

/**
 * Runs `call` and checks the bar every public method must meet on any input:
 * it either succeeds or fails with a coded error, and it never stalls the
 * event loop for more than `maxStallMs`. The stall is wall time, so a run
 * over the bound is repeated (up to `attempts` runs in all) and the best one
 * counts: a real stall repeats, a busy machine's pause does not, every time.
 * Returns the error of the last run, if any.
 */
export async function probe(call: () => unknown, maxStallMs = 50, extraCodes: readonly string[] = [], attempts = 3): Promise<unknown> {
  let error: unknown;
  let best = Infinity;
  for (let run = 0; run < attempts && best > maxStallMs; run++) {
    const result = await measure(call);
    error = result.error;
    best = Math.min(best, result.stallMs);
  }
  if (best > maxStallMs) throw new Error(`the call stalled the event loop for ${best.toFixed(1)} ms (limit ${maxStallMs})`);
  if (error !== undefined) {
    const code = (error as { code?: unknown } | null)?.code;
    if (!CODES.has(code) && !extraCodes.includes(code as string)) {
      throw new Error(`uncoded failure: ${error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : typeof error}`);
    }
  }
  return error;
}

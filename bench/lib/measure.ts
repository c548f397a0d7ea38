import { measure } from 'mitata';
import type { BenchContext } from './types.js';
import { median } from './stats.js';

export interface MeasureOptions {
  /** Cap on calls per mitata sample (mitata batches fast functions, 4096 calls per sample by default). */
  batchSamples?: number;
  /** Cap on samples: with batchSamples, bounds the number of calls of one measurement. */
  maxSamples?: number;
  minSamples?: number;
  /** Override the time budget of one measurement (ms). */
  ms?: number;
}

/** What mitata can time: a function, or a generator from `freshCopies`. */
export type Benchable = (() => unknown) | (() => Generator<unknown, void, unknown>);

/**
 * Times `fn(token)` where every call gets a new string with the content of
 * `next()` — as a server gets a new string from each request's header, whose
 * hash V8 has not computed yet. The copies are made by mitata outside the timed
 * region (mitata's computed parameters).
 */
export function freshCopies(next: () => string, fn: (token: string) => unknown): Benchable {
  const copy = () => Buffer.from(next(), 'latin1').toString('latin1');
  return function* () {
    yield { [0]: copy, bench: fn };
  };
}

/** One mitata measurement: mean ns per call (mitata trims the extreme samples). */
export async function nsPerOp(fn: Benchable, ctx: BenchContext, options: MeasureOptions = {}): Promise<number> {
  const stats = await measure(fn as () => unknown, {
    min_cpu_time: (options.ms ?? ctx.measureMs) * 1e6,
    ...(options.batchSamples === undefined ? {} : { batch_samples: options.batchSamples }),
    ...(options.maxSamples === undefined ? {} : { max_samples: options.maxSamples }),
    ...(options.minSamples === undefined ? {} : { min_samples: options.minSamples }),
  });
  return stats.avg;
}

/** The order contestants run in a round: rotated, and reversed every other round, so drift falls on all alike. */
export function roundOrder(names: readonly string[], round: number): string[] {
  const order = names.map((_, i) => names[(i + round) % names.length]!);
  if (round % 2 === 1) order.reverse();
  return order;
}

/**
 * Measures every function once per round, `ctx.rounds` rounds, rotating the
 * order each round so that drift (thermal, a noisy neighbour, GC debt) falls
 * on every contestant alike. Returns ns/op per round for each name.
 * `before(name, round)` runs outside the timing (e.g. to hand out fresh tokens).
 */
export async function alternate(
  ctx: BenchContext,
  fns: Record<string, Benchable>,
  options: MeasureOptions & { before?: (name: string, round: number) => void | Promise<void> } = {},
): Promise<Record<string, number[]>> {
  const names = Object.keys(fns);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (let round = 0; round < ctx.rounds; round++) {
    for (const name of roundOrder(names, round)) {
      await options.before?.(name, round);
      out[name]!.push(await nsPerOp(fns[name]!, ctx, options));
    }
  }
  return out;
}

/** Per-round ratio a[i] / b[i] and its median. */
export function pairedRatio(a: readonly number[], b: readonly number[]): { median: number; rounds: number[] } {
  const rounds = a.map((x, i) => x / b[i]!);
  return { median: median(rounds), rounds };
}

/**
 * Runs `op` with `concurrency` calls in flight for `ms` milliseconds (after a
 * warm-up of `warmupMs`); returns completed operations per second.
 */
export async function throughput(op: (worker: number) => Promise<unknown>, concurrency: number, ms: number, warmupMs = Math.min(200, ms / 4)): Promise<number> {
  const run = async (duration: number): Promise<number> => {
    let done = 0;
    const start = performance.now();
    const deadline = start + duration;
    const worker = async (w: number): Promise<void> => {
      while (performance.now() < deadline) {
        await op(w);
        done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    return done / ((performance.now() - start) / 1000);
  };
  if (warmupMs > 0) await run(warmupMs);
  return run(ms);
}

/** Like `alternate` for concurrent throughput: ops/s per round for each name. */
export async function alternateThroughput(
  ctx: BenchContext,
  ops: Record<string, (worker: number) => Promise<unknown>>,
  concurrency: number,
  ms: number,
): Promise<Record<string, number[]>> {
  const names = Object.keys(ops);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (let round = 0; round < ctx.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    if (round % 2 === 1) order.reverse();
    for (const name of order) out[name]!.push(await throughput(ops[name]!, concurrency, ms));
  }
  return out;
}

/**
 * Paired throughput: each round measures every candidate right next to its
 * own baseline (order flipping from round to round), so that a noisy
 * neighbour hits both halves of a pair alike. Returns ops/s per round.
 */
export async function pairedThroughput(
  ctx: BenchContext,
  pairs: Record<string, { candidate: (worker: number) => Promise<unknown>; baseline: (worker: number) => Promise<unknown> }>,
  concurrency: number,
  ms: number,
): Promise<Record<string, { candidate: number[]; baseline: number[] }>> {
  const out: Record<string, { candidate: number[]; baseline: number[] }> = {};
  for (const name of Object.keys(pairs)) out[name] = { candidate: [], baseline: [] };
  for (let round = 0; round < ctx.rounds; round++) {
    let k = 0;
    for (const [name, pair] of Object.entries(pairs)) {
      const o = out[name]!;
      if ((round + k++) % 2 === 0) {
        o.candidate.push(await throughput(pair.candidate, concurrency, ms));
        o.baseline.push(await throughput(pair.baseline, concurrency, ms));
      } else {
        o.baseline.push(await throughput(pair.baseline, concurrency, ms));
        o.candidate.push(await throughput(pair.candidate, concurrency, ms));
      }
    }
  }
  return out;
}

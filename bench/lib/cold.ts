import { roundOrder } from './measure.js';
import type { BenchContext } from './types.js';

/** ns/op of awaiting `fn` once per token, one at a time (a synchronous result is awaited too, as a caller of read() would). */
export async function timeEach(fn: (token: string, i: number) => unknown, tokens: readonly string[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < tokens.length; i++) await fn(tokens[i]!, i);
  return ((performance.now() - t0) * 1e6) / tokens.length;
}

/** How many calls of `fn` fit in `ms`, judged from a short probe (at least `min`, at most `max`). */
export async function callsIn(ms: number, fn: (token: string) => unknown, probe: readonly string[], min: number, max: number): Promise<number> {
  const ns = await timeEach(fn, probe);
  return Math.max(min, Math.min(max, Math.round((ms * 1e6) / ns)));
}

/**
 * A cold-path comparison: each round hands the candidate tokens it has never
 * seen (so every call is a full verification) and each baseline the very same
 * tokens; the order rotates every round. Tokens are made before any timing.
 * Returns ns/op per round for every name. A contestant in `perPool` is made
 * from the round's pool before that round is timed (a limit that decodes its
 * inputs outside the timing).
 */
export async function coldRounds(
  ctx: BenchContext,
  fns: Record<string, (token: string) => unknown>,
  pools: readonly (readonly string[])[],
  perPool: Record<string, (pool: readonly string[]) => (token: string, i: number) => unknown> = {},
): Promise<Record<string, number[]>> {
  const names = [...Object.keys(fns), ...Object.keys(perPool)];
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (let round = 0; round < ctx.rounds; round++) {
    for (const name of roundOrder(names, round)) {
      const fn = fns[name] ?? perPool[name]!(pools[round]!);
      out[name]!.push(await timeEach(fn, pools[round]!));
    }
  }
  return out;
}

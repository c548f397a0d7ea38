/** Case 3: read() hot with many distinct live tokens in rotation (runs in a child process, see children/rotation.ts). */
import { runChild } from '../lib/child.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

interface Result {
  count: number;
  cacheSize: number;
  rotationOps: number;
  singleOps: number;
  ratio: number;
  rounds: number[];
  cacheBytesPerEntry: number;
  keyBytesPerEntry: number;
  cacheMiB: number;
  keysMiB: number;
  setupSeconds: number;
}

export async function runRotation(ctx: BenchContext): Promise<Row[]> {
  const counts = ctx.quick ? [1_000, 10_000, 50_000] : [1_000, 100_000, 1_000_000];
  ctx.log(`case 3: read() hot with ${counts.join(' / ')} tokens in rotation (child process)`);
  const message = await runChild('rotation', [JSON.stringify({ counts, rounds: ctx.rounds, measureMs: ctx.measureMs, quick: ctx.quick })], ['--max-old-space-size=6144']);
  const results = message.results as Result[];
  const largest = counts[counts.length - 1]!;
  const rows: Row[] = results.map((r) => {
    // Report rows (issue 19 §4): a hot read() with N tokens in rotation is bounded by the CPU caches, not the library.
    const goal = undefined;
    const label = r.count >= 1_000_000 ? `${r.count / 1_000_000}M` : `${r.count / 1000}k`;
    return {
      id: `3-${label}`,
      case: `read() hot, ${label} distinct tokens in rotation`,
      candidate: { label: 'read()', value: r.rotationOps, unit: 'ops/s' },
      baseline: { label: 'case 1 (1 token)', value: r.singleOps, unit: 'ops/s' },
      ratio: r.ratio,
      ratioKind: 'ops/s ÷ baseline ops/s',
      goal,
      status: judge(r.ratio, goal),
      rounds: r.rounds,
      ...(r.count === largest
        ? {
            // The cache keeps every token string alive (entries hold it to compare on a hit), so a cached token costs both.
            note: `${(r.cacheBytesPerEntry + r.keyBytesPerEntry).toFixed(0)} B per cached token: cache heap ${r.cacheBytesPerEntry.toFixed(0)} B/entry + the token string ${r.keyBytesPerEntry.toFixed(0)} B (${(r.cacheMiB + r.keysMiB).toFixed(0)} MiB in all)`,
          }
        : {}),
      extra: { ...r },
    };
  });
  if (ctx.quick) for (const row of rows) if (row.id === '3-50k') row.note = `${row.note ?? ''} (quick: stands in for 100k/1M)`.trim();
  return rows;
}

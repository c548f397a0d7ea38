/**
 * Case D: the differential test of lib/jws against jose (session-core's
 * test/differential) on the full corpus: every byte of every segment flipped,
 * and random mutations until there are at least 100,000. Not a timing: the
 * row passes when read() and the jose oracle agree on every token.
 */
import { runDifferential as differential } from '../../packages/session-core/test/differential/run.js';
import type { BenchContext, Row } from '../lib/types.js';

export async function runDifferential(ctx: BenchContext): Promise<Row[]> {
  // Two setups, each ~8k systematic mutations plus `random`.
  const random = ctx.quick ? 2_000 : 45_000;
  const wanted = ctx.quick ? 10_000 : 100_000;
  ctx.log(`case D: differential lib/jws vs jose, ${random} random tokens per setup on top of the systematic corpus`);
  const report = await differential({ random, byteStride: 1, seed: 0x11d1ff });
  const agreed = report.mismatches.length === 0;
  const enough = report.mutations >= wanted;
  const stricter = Object.entries(report.stricter).map(([rule, n]) => `${rule} ${n}`).join(', ');
  for (const m of report.mismatches.slice(0, 10)) ctx.log(`case D mismatch (${m.setup}) ${m.label}: ours ${JSON.stringify(m.ours).slice(0, 160)} jose ${JSON.stringify(m.oracle).slice(0, 160)}`);
  return [
    {
      id: 'D',
      case: `differential: read() on lib/jws vs jose.jwtVerify, ${report.tokens} tokens (${report.mutations} mutations), disagreements`,
      note: `expected verdicts (jose's, plus the stricter header rules): ${report.accepted} accepted, ${report.expired} expired, ${report.invalid} invalid; the stricter rules decided ${stricter || 'none'}; ${report.seconds.toFixed(0)} s`,
      ratio: report.mismatches.length,
      ratioKind: 'absolute',
      goal: { op: '<=', value: 0, text: 'tokens on which read() and the jose oracle disagree', exact: true },
      status: agreed && enough ? 'PASS' : 'MISS',
      ...(enough ? {} : { note: `only ${report.mutations} mutations, ${wanted} wanted` }),
      extra: { ...report, mismatches: report.mismatches.slice(0, 10) },
    },
  ];
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runDifferential } from './differential/run.js';

/*
 * Guards the replacement of jose's jwtVerify by lib/jws (issue 11): for every
 * token of the corpus, read() must give jose's verdict (plus the stricter
 * header rules documented in differential/oracle.ts): accepted with
 * deep-equal claims, or refused with the same code. The full corpus
 * (≥ 100,000 mutations) runs in `pnpm bench`; this is the systematic part
 * plus a few thousand random tokens.
 */
const S = suite('differential: lib/jws against jose');

S('read() agrees with jose on every token of the corpus', async () => {
  const report = await runDifferential({ random: 1000, byteStride: 3 });
  if (report.mismatches.length > 0) {
    const lines = report.mismatches.slice(0, 10).map((m) => `${m.setup} | ${m.label}: ours ${JSON.stringify(m.ours).slice(0, 200)}, jose ${JSON.stringify(m.oracle).slice(0, 200)}`);
    assert.unreachable(`${report.mismatches.length}+ disagreements:\n${lines.join('\n')}`);
  }
  // The corpus must exercise every verdict and every stricter rule, or agreeing would prove little.
  assert.ok(report.mutations >= 5_000, `only ${report.mutations} mutations`);
  assert.ok(report.accepted >= 100, `only ${report.accepted} accepted`);
  assert.ok(report.expired >= 50, `only ${report.expired} expired`);
  assert.ok(report.invalid >= 3_000, `only ${report.invalid} invalid`);
  assert.ok((report.stricter['header-members'] ?? 0) > 0 && (report.stricter['typ-exact'] ?? 0) > 0, JSON.stringify(report.stricter));
});

S.run();

import { isDeepStrictEqual } from 'node:util';
import { corpus, type CorpusOptions, type CorpusToken } from './corpus.js';
import { joseOracle, ourVerdict, type Verdict } from './oracle.js';
import { setups } from './setup.js';

export interface DifferentialReport {
  tokens: number;
  mutations: number;
  accepted: number;
  invalid: number;
  expired: number;
  /** Tokens jose accepts (or calls expired) that a documented stricter rule refuses, by rule: the verdicts those rules decide. */
  stricter: Record<string, number>;
  mismatches: Array<{ setup: string; label: string; token: string; ours: Verdict; oracle: Verdict }>;
  seconds: number;
}

function same(a: Verdict, b: Verdict): boolean {
  if (a.accepted && b.accepted) {
    try {
      return isDeepStrictEqual(a.claims, b.claims);
    } catch {
      // Claims nested thousands deep overflow node's recursive comparison; both came from JSON text, so compare that.
      return JSON.stringify(a.claims) === JSON.stringify(b.claims);
    }
  }
  return !a.accepted && !b.accepted && a.code === b.code;
}

function record(report: DifferentialReport, setup: string, item: CorpusToken, ours: Verdict, expected: Verdict & { rule?: string }): void {
  report.tokens++;
  if (item.mutated) report.mutations++;
  if (expected.accepted) report.accepted++;
  else if (expected.code === 'ERR_AUTH_TOKEN_EXPIRED') report.expired++;
  else report.invalid++;
  if (expected.rule !== undefined) report.stricter[expected.rule] = (report.stricter[expected.rule] ?? 0) + 1;
  if (!same(ours, expected) && report.mismatches.length < 50) {
    const { rule: _rule, ...oracle } = expected;
    report.mismatches.push({ setup, label: item.label, token: item.token, ours, oracle: oracle as Verdict });
  }
}

/**
 * Feeds every token of the corpus to read() (lib/jws) and to the jose oracle
 * under each setup and collects every disagreement (the first 50). The
 * systematic part is about 7,000 tokens per setup with `byteStride` 1;
 * `random` tokens per setup come on top.
 */
export async function runDifferential(options: Partial<CorpusOptions> = {}): Promise<DifferentialReport> {
  const corpusOptions: CorpusOptions = { random: 1000, byteStride: 1, seed: 0x5eed, ...options };
  const started = performance.now();
  const report: DifferentialReport = { tokens: 0, mutations: 0, accepted: 0, invalid: 0, expired: 0, stricter: {}, mismatches: [], seconds: 0 };
  for (const setup of setups()) {
    const oracle = joseOracle(setup);
    try {
      // Checked in batches: jose's WebCrypto work runs on the libuv pool, so many in flight keep both cores busy.
      let batch: CorpusToken[] = [];
      const flush = async () => {
        const verdicts = await Promise.all(batch.map((item) => Promise.all([ourVerdict(setup, item.token), oracle(item.token)])));
        verdicts.forEach(([ours, expected], i) => record(report, setup.name, batch[i]!, ours, expected));
        batch = [];
      };
      for await (const item of corpus(setup, corpusOptions)) {
        batch.push(item);
        if (batch.length === 128) await flush();
      }
      await flush();
    } finally {
      await setup.close();
    }
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

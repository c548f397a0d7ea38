export type Status = 'PASS' | 'MISS' | 'REPORT' | 'SKIPPED' | 'ERROR';

/** A measured quantity with its unit, for context next to a ratio. */
export interface Quantity {
  label: string;
  value: number;
  unit: 'ops/s' | 'ns/op' | 'µs/op' | 'ms' | 'B' | 'B/session' | 'MiB' | 'handshakes/s' | 'req/s';
}

export interface Goal {
  /** How the ratio must compare with `value`. */
  op: '>=' | '<=';
  value: number;
  /** What the ratio is: e.g. "candidate ops/s ÷ baseline ops/s". */
  text: string;
  /**
   * The figure is a count of outcomes (a share that succeeded, disagreements),
   * not a noisy measurement: judged against the line itself, without PASS_MARGIN.
   */
  exact?: boolean;
}

export interface Row {
  id: string;
  case: string;
  /** The thing measured. */
  candidate?: Quantity | undefined;
  /** What it is compared with, measured in the same run. */
  baseline?: Quantity | undefined;
  /** Median over rounds of the per-round ratio (or the absolute figure for absolute goals). */
  ratio?: number | undefined;
  /** How `ratio` is formed, e.g. "ops/s ÷ baseline ops/s". */
  ratioKind?: string | undefined;
  goal?: Goal | undefined;
  status: Status;
  /** Per-round ratios, for judging the spread. */
  rounds?: number[] | undefined;
  note?: string | undefined;
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, unknown> | undefined;
}

export interface BenchContext {
  quick: boolean;
  rounds: number;
  /** Budget for one mitata measurement, in ms. */
  measureMs: number;
  log: (line: string) => void;
}

/**
 * How far past its line a median must be to PASS: 3 % of the line. On these
 * shared machines a ratio moves by a few per cent from run to run, so a median
 * sitting at the line (within the margin, either side) is a MISS, never a PASS.
 * Measurements only (speed and time ratios, bytes, latencies): an `exact`
 * goal (a count of outcomes, such as 99 % of a burst succeeding) has no noise
 * to allow for, and 3 % past 99 % would be unreachable.
 */
export const PASS_MARGIN = 0.03;

export function judge(ratio: number | undefined, goal: Goal | undefined): Status {
  if (goal === undefined) return 'REPORT';
  if (ratio === undefined || !Number.isFinite(ratio)) return 'MISS';
  const margin = goal.exact === true ? 0 : PASS_MARGIN;
  return goal.op === '>=' ? (ratio >= goal.value * (1 + margin) ? 'PASS' : 'MISS') : ratio <= goal.value * (1 - margin) ? 'PASS' : 'MISS';
}

export function skipped(id: string, name: string, why: string): Row {
  return { id, case: name, status: 'SKIPPED', note: `skipped: ${why}` };
}

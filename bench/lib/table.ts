import type { Quantity, Row } from './types.js';

function si(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatQuantity(q: Quantity | undefined): string {
  if (q === undefined) return '';
  return `${q.label} ${si(q.value)} ${q.unit}`;
}

export function formatRatio(row: Row): string {
  if (row.ratio === undefined || !Number.isFinite(row.ratio)) return '';
  const text = ratioText(row.ratio);
  return row.ratioKind === 'absolute' ? text : `${text}×`;
}

function ratioText(r: number): string {
  if (Number.isInteger(r)) return String(r);
  return Math.abs(r) >= 100 ? r.toFixed(0) : Math.abs(r) >= 10 ? r.toFixed(1) : r.toFixed(2);
}

/** Smallest and largest per-round ratio: the spread behind the median. */
export function formatRange(row: Row): string {
  const rounds = row.rounds?.filter((r) => Number.isFinite(r));
  if (rounds === undefined || rounds.length < 2) return '';
  return `${ratioText(Math.min(...rounds))}–${ratioText(Math.max(...rounds))}`;
}

export function formatGoal(row: Row): string {
  if (row.goal === undefined) return 'report';
  const unit = row.ratioKind === 'absolute' ? '' : '×';
  return `${row.goal.op === '>=' ? '≥' : '≤'} ${row.goal.value}${unit}`;
}

/** A Markdown table (it reads well in a terminal too and pastes into the README as is). */
export function renderTable(rows: readonly Row[]): string {
  const header = ['#', 'case', 'measured', 'baseline (same run)', 'ratio (median)', 'range over rounds', 'goal', 'result'];
  const body = rows.map((row) => [
    row.id,
    row.case + (row.note === undefined ? '' : ` — ${row.note}`),
    formatQuantity(row.candidate),
    formatQuantity(row.baseline),
    formatRatio(row),
    formatRange(row),
    formatGoal(row),
    row.status,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((r) => [...r[c]!].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

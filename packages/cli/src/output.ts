/*
 * Human output: aligned columns, times in the operator's local zone beside
 * ISO UTC; `--json` prints one JSON document instead, for scripts.
 */

export interface Output {
  /** One line (or block) on stdout. */
  out(text: string): void;
  /** One line on stderr. */
  err(text: string): void;
}

/** Left-aligned columns separated by two spaces; the first row is the header. Cells are single-line. */
export function table(rows: readonly (readonly string[])[]): string {
  const clean = rows.map((row) => row.map(oneLine));
  const widths: number[] = [];
  for (const row of clean) row.forEach((cell, n) => (widths[n] = Math.max(widths[n] ?? 0, cell.length)));
  return clean.map((row) => row.map((cell, n) => (n === row.length - 1 ? cell : cell.padEnd(widths[n]!))).join('  ').trimEnd()).join('\n');
}

/** Control characters (a subject or context value may hold anything) would break the columns or the terminal. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-11-29 10:15:02 +01:00`: the local wall clock with its offset, so it is unambiguous. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A time as scripts and people want it. */
export interface TimeView {
  unix: number;
  iso: string;
  local: string;
}

export function timeView(unixSeconds: number): TimeView {
  const ms = unixSeconds * 1000;
  return { unix: unixSeconds, iso: new Date(ms).toISOString(), local: localTime(ms) };
}

/** `3h 12m`, `45s`, `-2m 3s` (past). */
export function duration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let s = Math.round(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return sign + parts.slice(0, 2).join(' ');
}

/** Bytes as `1.2 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

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

/**
 * Characters a terminal acts on or hides rather than shows, in the text a
 * token or a store can bring: DEL and the C1 controls (U+007F–U+009F; U+009B
 * opens an escape sequence like ESC [), the Arabic letter mark and the bidi
 * embeddings, overrides and isolates (U+061C, U+202A–U+202E, U+2066–U+2069:
 * they reorder what follows, so a claim can display as another), zero-width
 * characters (U+200B–U+200F, U+2060–U+2064, U+FEFF) and the line and
 * paragraph separators (U+2028, U+2029). None may reach the output raw.
 */
const INVISIBLE = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * The INVISIBLE characters as `\uXXXX`, anything else as it is. In JSON text
 * this is lossless (they can only occur inside strings, where the escape
 * means the same character), so `--json` output parses to the same values;
 * in human output newlines and tabs of the layout are kept.
 */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, escape);
}

/** Control characters too (a subject or context value may hold anything): they would break the columns or the terminal. */
export function oneLine(text: string): string {
  return text.replace(CONTROL_OR_INVISIBLE, escape);
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

/** A time as scripts and people want it; `iso` and `local` are null when it is out of range. */
export type TimeView = { unix: number; iso: string; local: string } | { unix: number; iso: null; local: null; outOfRange: true };

/** ECMAScript dates reach ±8.64e15 ms (about ±275 000 years); a claim may hold any number. */
const MAX_DATE_MS = 8.64e15;

export function timeView(unixSeconds: number): TimeView {
  const ms = unixSeconds * 1000;
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return { unix: unixSeconds, iso: null, local: null, outOfRange: true };
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

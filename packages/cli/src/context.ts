import { escapeInvisible, type Output } from './output.js';

/** What a command gets from the process: its arguments, where to write, the environment and the clock. */
export interface Context {
  output: Output;
  env: Readonly<Record<string, string | undefined>>;
  /** ms since the epoch. */
  now: () => number;
  /** All of standard input, for arguments given as `-`. */
  stdin: () => Promise<string>;
}

/**
 * Prints a result: `human()` for people, `data` as one JSON document with
 * --json. Either way no character a terminal hides or acts on goes out raw
 * (JSON.stringify escapes only C0 controls; C1, bidi and zero-width ones
 * become `\uXXXX`, which JSON reads back as the same character).
 */
export function emit(ctx: Context, json: boolean | undefined, data: unknown, human: () => string): void {
  ctx.output.out(escapeInvisible(json ? JSON.stringify(data, null, 2) : human()));
}

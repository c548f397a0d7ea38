import type { Output } from './output.js';

/** What a command gets from the process: its arguments, where to write, the environment and the clock. */
export interface Context {
  output: Output;
  env: Readonly<Record<string, string | undefined>>;
  /** ms since the epoch. */
  now: () => number;
  /** All of standard input, for arguments given as `-`. */
  stdin: () => Promise<string>;
}

/** Prints a result: `human()` for people, `data` as one JSON document with --json. */
export function emit(ctx: Context, json: boolean | undefined, data: unknown, human: () => string): void {
  ctx.output.out(json ? JSON.stringify(data, null, 2) : human());
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usage } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** Options of the commands that talk to Redis. */
export const REDIS_OPTIONS = {
  redis: { type: 'string' },
  'redis-env': { type: 'string' },
  cluster: { type: 'boolean' },
  prefix: { type: 'string' },
} as const satisfies Options;

/**
 * node:util parseArgs in strict mode, with its errors (unknown option, missing
 * value) turned into usage errors that exit 2.
 */
type Config<O extends Options> = { args: string[]; options: O & typeof COMMON_OPTIONS; allowPositionals: true; strict: true };

export function parse<O extends Options>(args: string[], options: O): ReturnType<typeof parseArgs<Config<O>>> {
  try {
    return parseArgs<Config<O>>({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message.split('\n')[0]!);
  }
}

// A mistyped argument is often a pasted token or secret, or carries control
// characters: only something shaped like a command or flag word is echoed.
const WORD = /^-{0,2}[a-z][a-z0-9-]{0,30}$/;

/**
 * How a usage error names an argument: quoted when it looks like a command or
 * flag word, else by its 1-based position so a token is never printed.
 */
export function describeArgument(value: string, position: number): string {
  return WORD.test(value) ? `"${value}"` : `#${position}`;
}

/** Exactly `names.length` positionals, named in the message when missing or extra. */
export function positionals(values: string[], names: string[], command: string): string[] {
  if (values.length < names.length) throw usage(`${command}: missing <${names[values.length]}>`);
  if (values.length > names.length) throw usage(`${command}: unexpected argument ${describeArgument(values[names.length]!, names.length + 1)}`);
  return values;
}

// What an environment variable's name looks like (POSIX: letters, digits, _).
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * The value of the environment variable an option names (`--secret-env`,
 * `--redis-env`): secrets read from there stay out of argv (ps) and the shell
 * history. The name is echoed in errors only when it looks like one, since a
 * value pasted in its place would be a secret.
 */
export function fromEnvironment(name: string, option: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!VARIABLE.test(name)) throw usage(`${option} takes the name of an environment variable (letters, digits and _), not a value`);
  const value = env[name];
  if (value === undefined || value === '') throw usage(`environment variable ${name} is not set (${option})`);
  return value;
}

/** A whole number of seconds > 0. */
export function secondsOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw usage(`--${name} must be a whole number of seconds greater than 0`);
  return n;
}

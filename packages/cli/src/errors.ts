/** Exit statuses, as documented in the README: scripts branch on them. */
export const EXIT_OK = 0;
/** The command could not do what was asked: Redis unreachable, a key that does not verify, a token that is not valid. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong: unknown command or option, missing argument. Nothing was done. */
export const EXIT_USAGE = 2;

export const CLI_ERROR_CODES = [
  'ERR_USAGE',
  'ERR_REDIS_UNAVAILABLE',
  'ERR_POSTGRES_UNAVAILABLE',
  'ERR_SESSION_NOT_FOUND',
  'ERR_TOKEN_MALFORMED',
  'ERR_KEY_UNUSABLE',
  'ERR_KEYS_UNAVAILABLE',
  'ERR_OPERATION_FAILED',
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/**
 * A failure the CLI reports as one line (`error <code>: <message>`) or, with
 * `--json`, as `{ "error": code, "message": … }` on stderr. Messages are fixed
 * text plus names the operator typed (an option, a file, a variable name),
 * never a token or a secret.
 */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = code === 'ERR_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
}

export const usage = (message: string): CliError => new CliError('ERR_USAGE', message);

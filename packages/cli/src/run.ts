import { describeArgument } from './args.js';
import { keysCommand } from './commands/keys.js';
import { sessionsCommand } from './commands/sessions.js';
import { statsCommand } from './commands/stats.js';
import { tokenCommand } from './commands/token.js';
import type { Context } from './context.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, usage } from './errors.js';
import { HELP } from './help.js';
import { escapeInvisible, oneLine, type Output } from './output.js';

const COMMANDS: Record<string, (args: string[], ctx: Context) => Promise<number>> = {
  sessions: sessionsCommand,
  token: tokenCommand,
  keys: keysCommand,
  stats: statsCommand,
};

export interface RunOptions {
  output?: Output;
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  stdin?: () => Promise<string>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/**
 * Runs one command line (without `node` and the script) and resolves with its
 * exit status: 0 done, 1 operational failure, 2 usage error. Never throws for
 * a failure the CLI knows; prints it.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const output = options.output ?? { out: (text) => process.stdout.write(`${text}\n`), err: (text) => process.stderr.write(`${text}\n`) };
  const ctx: Context = { output, env: options.env ?? process.env, now: options.now ?? Date.now, stdin: options.stdin ?? (() => readAll(process.stdin)) };
  // A caller of the library API may pass anything: refuse it as a usage error
  // instead of crashing on the spread below.
  if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string')) {
    output.err('error ERR_USAGE: the command line must be an array of strings (see jwt-session --help)');
    return EXIT_USAGE;
  }
  const args = [...argv];
  const json = args.includes('--json');
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help' || args.includes('--help') || args.includes('-h')) {
    output.out(HELP);
    return args.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  try {
    const command = COMMANDS[args[0]!];
    if (command === undefined) throw usage(`unknown command ${describeArgument(args[0]!, 1)} (sessions, token, keys, stats)`);
    return await command(args.slice(1), ctx);
  } catch (error) {
    const known = error instanceof CliError ? error : undefined;
    const code = known?.code ?? 'ERR_INTERNAL';
    const message = known?.message ?? 'unexpected failure (a bug: please report it with the command line, without tokens or secrets)';
    // A message may name what the operator typed (a file, a variable): shown escaped, like any output.
    output.err(json ? escapeInvisible(JSON.stringify({ error: code, message })) : `error ${code}: ${oneLine(message)}${code === 'ERR_USAGE' ? ' (see jwt-session --help)' : ''}`);
    return known?.exitCode ?? EXIT_FAILURE;
  }
}

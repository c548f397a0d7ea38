import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSessionError } from '@jwt-session/session-core';
import { run } from '../src/index.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real command in a child process (`node --import tsx src/bin.ts`),
 * as an operator would: its exit status, stdout and stderr. Fails after
 * `timeout` ms, so a CLI that hangs on an open connection is a failure.
 */
export function cli(args: string[], options: { env?: Record<string, string>; stdin?: string; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      env: { ...process.env, ...options.env, FORCE_COLOR: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jwt-session ${args[0]} did not exit within ${options.timeout ?? 30_000} ms; stderr: ${stderr}`));
    }, options.timeout ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The same command in this process (faster; same code path after argv), with its output captured. */
export async function runHere(args: string[], options: { env?: Record<string, string>; now?: number; stdin?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    output: { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) },
    env: options.env ?? {},
    ...(options.now === undefined ? {} : { now: () => options.now! }),
    stdin: async () => options.stdin ?? '',
  });
  return { code, stdout, stderr };
}

/** stdout parsed as the one JSON document --json promises. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** The `{ error, message }` --json prints on stderr. */
export function jsonError(result: CliResult): { error: string; message: string } {
  return JSON.parse(result.stderr.trim()) as { error: string; message: string };
}

/** A library call's SessionError code, or 'resolved'. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isSessionError(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { trackPid, untrackPid } from '@jwt-session/redis-harness';
import type { RunAs } from './user.js';

/*
 * A PostgreSQL server is a tree of processes: the postmaster and one backend
 * per connection (plus its helpers). Pausing only the postmaster leaves every
 * open connection answering, so a pause or a kill reaches the whole tree,
 * found through /proc.
 */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: the fields after its last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export function signalTree(root: number, signal: NodeJS.Signals): void {
  // Parent first: a stopped postmaster forks no new backend while the others are being stopped.
  for (const pid of processTree(root)) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a server program in the foreground as the test's child: tracked for
 * the harness' exit hook, the tail of its output kept to explain a failed
 * start, and unreferenced (pipes too) so a forgotten server cannot keep the
 * test process alive.
 */
export async function spawnServer(file: string, args: string[], cwd: string, user: RunAs | undefined): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', (error) => reject(new Error(`cannot start ${file}: ${error.message}`)));
  });
  trackPid(proc.pid!);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.once('exit', () => untrackPid(proc.pid!));
  (proc.stdout as unknown as { unref?: () => void }).unref?.();
  (proc.stderr as unknown as { unref?: () => void }).unref?.();
  proc.unref();
  return { proc, output: () => output };
}

/** Polls `ready` until it holds; throws (with the output's tail) if the process exits first or `timeout` ms pass. */
export async function untilReady(proc: ChildProcess, what: string, ready: () => boolean, timeout: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited early:\n${output()}`);
    if (ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not accept connections in time:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

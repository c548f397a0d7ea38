import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir, trackDir, trackPid, untrackPid } from './cleanup.js';
import { freePort } from './ports.js';
import { command, type Reply } from './resp.js';

export interface StartRedisOptions {
  /** A specific port; default: a free one (never 6379). */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[];
  /** How long to wait for the server to answer PING. @default 10000 */
  startTimeout?: number;
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Temp dir the server runs in (removed by `stop`). */
  readonly dir: string;
  /** pid of the running process, or undefined while it is down. */
  readonly pid: number | undefined;
  /** Sends one command on a fresh connection (admin use; no client library needed). */
  command(...args: (string | number)[]): Promise<Reply>;
  /** SIGKILL: the server vanishes without a goodbye, like a crashed host. Data is lost (no persistence). */
  kill(): Promise<void>;
  /** SIGSTOP: the server holds connections open but answers nothing. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Starts the server again on the same port (after `kill`, or kills it first). */
  restart(): Promise<void>;
  /** Kills the server for good and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${port} exited early:\n${log()}`);
    try {
      if ((await command(port, ['PING'], 500)) === 'PONG') return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${log()}`);
    await delay(20);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a `redis-server` of its own: free port, loopback only, no RDB or AOF,
 * in a fresh temp dir. Throws when the binary is missing or it does not come up.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort({ withBusPort: (options.args ?? []).includes('--cluster-enabled') }));
  if (port === 6379) throw new Error('the harness never uses port 6379 (it may be the system Redis)');
  const dir = mkdtempSync(join(tmpdir(), 'jwt-session-redis-'));
  trackDir(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes', ...(options.args ?? [])];
  let child: ChildProcess | undefined;
  let output = '';
  let stopped = false;

  const launch = async () => {
    output = '';
    const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', (error) => reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)));
    });
    await spawned;
    trackPid(proc.pid!);
    // Keep only the tail: enough to explain a failed start.
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => untrackPid(proc.pid!));
    // The pipes must not keep the test process alive.
    (proc.stdout as unknown as { unref?: () => void }).unref?.();
    (proc.stderr as unknown as { unref?: () => void }).unref?.();
    proc.unref();
    try {
      await waitForPing(port, proc, options.startTimeout ?? 10_000, () => output);
    } catch (error) {
      proc.kill('SIGKILL');
      throw error;
    }
  };

  const kill = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    // Unreferenced so a forgotten server cannot keep the test process alive, but its exit must be awaited here.
    proc.ref();
    // A paused process only dies of SIGKILL, which works either way.
    proc.kill('SIGKILL');
    await exited(proc);
  };

  try {
    await launch();
  } catch (error) {
    removeDir(dir);
    throw error;
  }

  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child?.pid;
    },
    command: (...cmd) => command(port, cmd),
    kill,
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    restart: async () => {
      if (stopped) throw new Error('server was stopped');
      await kill();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      removeDir(dir);
    },
  };
}

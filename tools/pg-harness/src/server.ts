import { spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, removeDir, trackDir } from '@jwt-session/redis-harness';
import { serverBinDir } from './binaries.js';
import { exited, signalTree, spawnServer, untilReady } from './processes.js';
import { runAs, type RunAs } from './user.js';

export interface StartPostgresOptions {
  /** A specific port; default: a free one (never 5432). */
  port?: number;
  /** Extra server settings, `-c name=value` each, e.g. `{ max_connections: '20' }`. */
  settings?: Record<string, string>;
  /** How long to wait for the server to accept connections. @default 20000 */
  startTimeout?: number;
}

export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
  /** Temp dir holding the cluster's data directory and its socket (removed by `stop`). */
  readonly dir: string;
  /** pid of the postmaster, or undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILL to every process of the server: gone without a goodbye, like a crashed host. Committed data survives (WAL). */
  kill(): Promise<void>;
  /** SIGSTOP to every process of the server: connections stay open, nothing answers, no new one is accepted. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Starts the server again on the same port and data (after `kill`, or kills it first); it runs crash recovery. */
  restart(): Promise<void>;
  /** Kills the server for good and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(file: string, args: string[], user: RunAs | undefined): void {
  const result = spawnSync(file, args, { encoding: 'utf8', ...(user ?? {}) });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.error?.message ?? ''}${result.stderr}`);
}

/**
 * initdb takes a second or more; copying its result takes a fraction of that.
 * One freshly made cluster is kept per user and PostgreSQL build in the temp
 * dir and copied for each server (made under a temporary name and renamed,
 * so two test processes never copy a half-made one).
 */
function template(bin: string, user: RunAs | undefined): string {
  const version = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.match(/\d+(?:\.\d+)*/)?.[0] ?? 'unknown';
  const dir = join(tmpdir(), `jwt-session-pg-template-${user?.uid ?? process.getuid?.() ?? 'u'}-${version}`);
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  const making = mkdtempSync(join(tmpdir(), 'jwt-session-pg-initdb-'));
  try {
    if (user !== undefined) chownSync(making, user.uid, user.gid);
    const data = join(making, 'data');
    run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '-N'], user);
    try {
      renameSync(data, dir);
    } catch {
      // Another process made it first.
    }
  } finally {
    rmSync(making, { recursive: true, force: true });
  }
  return dir;
}

/** Whether something speaking PostgreSQL's protocol (the server, or PgBouncer) accepts connections on the port. */
export function isReady(bin: string, port: number): boolean {
  return spawnSync(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-t', '1']).status === 0;
}

/**
 * A PostgreSQL server of its own: a cluster copied from a fresh initdb into a
 * temp dir, on a free port, loopback only, trust authentication, the socket
 * in the temp dir. Never the machine's own server on 5432. fsync is off (only
 * an OS crash would lose data, and there is none in a test); commits are
 * still synchronous, so a killed server keeps what it acknowledged.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = serverBinDir();
  const user = runAs();
  const port = options.port ?? (await freePort());
  if (port === 5432) throw new Error('the harness never uses port 5432 (it may be the system PostgreSQL)');
  const dir = mkdtempSync(join(tmpdir(), 'jwt-session-pg-'));
  trackDir(dir);
  const data = join(dir, 'data');
  try {
    cpSync(template(bin, user), data, { recursive: true, preserveTimestamps: true });
    if (user !== undefined) run('chown', ['-R', `${user.uid}:${user.gid}`, dir], undefined);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: dir, fsync: 'off', full_page_writes: 'off', ...options.settings };
  const args = ['-D', data, '-p', String(port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  let child: ChildProcess | undefined;
  let output = (): string => '';
  let stopped = false;

  const launch = async () => {
    const started = await spawnServer(join(bin, 'postgres'), args, dir, user);
    const proc = started.proc;
    child = proc;
    output = started.output;
    try {
      await untilReady(proc, `postgres on port ${port}`, () => isReady(bin, port), options.startTimeout ?? 20_000, output);
    } catch (error) {
      signalTree(proc.pid!, 'SIGKILL');
      throw error;
    }
  };

  const kill = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    proc.ref();
    // SIGKILL works on a stopped process too; the backends go with the postmaster.
    signalTree(proc.pid!, 'SIGKILL');
    await exited(proc);
    // A backend killed with its postmaster may still be on its way out and hold the port's shared memory.
    await delay(50);
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
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    get pid() {
      return child?.pid;
    },
    kill,
    pause: () => {
      if (child?.pid !== undefined) signalTree(child.pid, 'SIGSTOP');
    },
    resume: () => {
      if (child?.pid !== undefined) signalTree(child.pid, 'SIGCONT');
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

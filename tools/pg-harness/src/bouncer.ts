import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, removeDir, trackDir } from '@jwt-session/redis-harness';
import { pgbouncerBin, serverBinDir } from './binaries.js';
import { exited, spawnServer, untilReady } from './processes.js';
import { isReady, type PostgresServer } from './server.js';
import { runAs } from './user.js';

export interface StartPgBouncerOptions {
  /** The harness server the bouncer forwards to (every database name maps to it). */
  target: PostgresServer;
  /** @default 'transaction' */
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per database and user (`default_pool_size`). @default 10 */
  poolSize?: number;
  /** How long to wait for the bouncer to accept connections. @default 10000 */
  startTimeout?: number;
}

export interface PgBouncer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: the target's `postgres` database through the bouncer. */
  readonly url: string;
  /** `postgres://postgres@127.0.0.1:<port>/pgbouncer`: the admin console (`SHOW POOLS`, `SHOW SERVERS`, simple queries only). */
  readonly adminUrl: string;
  readonly poolMode: 'session' | 'transaction' | 'statement';
  /** pid of the pgbouncer process, or undefined once stopped. */
  readonly pid: number | undefined;
  /** SIGSTOP: client connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Kills the bouncer (its server connections close with it) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A PgBouncer of its own in front of a harness PostgreSQL: config, auth file
 * and nothing else in a temp dir, on a free port, loopback only, no Unix
 * socket, trust authentication for the `postgres` user (listed in the auth
 * file, which 1.18 requires even under trust). Run in the foreground so the
 * process is the test's child; as the `postgres` user when root, since
 * pgbouncer refuses to run as root.
 */
export async function startPgBouncer(options: StartPgBouncerOptions): Promise<PgBouncer> {
  const bin = pgbouncerBin();
  const user = runAs();
  const poolMode = options.poolMode ?? 'transaction';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'jwt-session-pgbouncer-'));
  trackDir(dir);
  const config = join(dir, 'pgbouncer.ini');
  let child: ChildProcess | undefined;
  let output = (): string => '';
  try {
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(
      config,
      [
        '[databases]',
        `* = host=127.0.0.1 port=${options.target.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'admin_users = postgres',
        `pool_mode = ${poolMode}`,
        `default_pool_size = ${options.poolSize ?? 10}`,
        'max_client_conn = 200',
        // Node clients send no such parameter, but psql-style clients do; never a reason to refuse one.
        'ignore_startup_parameters = extra_float_digits',
        '',
      ].join('\n'),
    );
    if (user !== undefined) for (const path of [dir, config, join(dir, 'userlist.txt')]) chownSync(path, user.uid, user.gid);
    const started = await spawnServer(bin, [config], dir, user);
    const proc = started.proc;
    child = proc;
    output = started.output;
    await untilReady(proc, `pgbouncer on port ${port}`, () => isReady(serverBinDir(), port), options.startTimeout ?? 10_000, output);
  } catch (error) {
    if (child !== undefined) {
      child.kill('SIGKILL');
      await exited(child);
    }
    removeDir(dir);
    throw error;
  }

  let stopped = false;
  const proc = child;
  return {
    host: '127.0.0.1',
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/pgbouncer`,
    poolMode,
    get pid() {
      return stopped ? undefined : proc.pid;
    },
    pause: () => {
      if (!stopped) proc.kill('SIGSTOP');
    },
    resume: () => {
      if (!stopped) proc.kill('SIGCONT');
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      proc.ref();
      // SIGKILL works on a stopped process too; pgbouncer is one process, so its sockets go with it.
      proc.kill('SIGKILL');
      await exited(proc);
      removeDir(dir);
    },
  };
}

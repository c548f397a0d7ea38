import { randomBytes } from 'node:crypto';
import { startPostgres, type PostgresServer } from '@jwt-session/pg-harness';
import { JwtUserSessionManager, SessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import pg from 'pg';
import * as assert from 'uvu/assert';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate, type ListenClient, type PostgresInvalidationBroadcasterOptions, type PostgresRefreshTokenStoreOptions } from '../src/index.js';

/** The signing key every test node shares. */
export const TEST_KEY = { kid: 'k1', algorithm: 'HS256' as const, secret: 'storage-postgres-test-hmac-secret-0123456789' };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/*
 * One PostgreSQL server per test file (per process), started on first use
 * and stopped by `teardown()`, which every file queues as its last suite;
 * the harness' exit hook kills it anyway if a run crashes. Tests share it
 * through schemas of their own.
 */
let server: Promise<PostgresServer> | undefined;
const pools = new Set<pg.Pool>();
const closers: (() => Promise<void>)[] = [];

export function pgServer(): Promise<PostgresServer> {
  return (server ??= startPostgres());
}

/** A pool on the shared server; ended by teardown(). Connection errors are expected in fault tests. */
export async function makePool(config: pg.PoolConfig = {}): Promise<pg.Pool> {
  const s = await pgServer();
  const pool = new pg.Pool({ connectionString: s.url, max: 10, ...config });
  pool.on('error', () => undefined);
  pools.add(pool);
  return pool;
}

/** The application_name of every broadcaster's listening connection in these tests (fault tests find them by it). */
export const LISTEN_APP = 'jwt-session-listen';

/** A client for the broadcaster's LISTEN connection. */
export function listenClient(url: string): () => pg.Client {
  return () => new pg.Client({ connectionString: url, application_name: LISTEN_APP, connectionTimeoutMillis: 2000 });
}

/** What a steered listening connection lets a test hold up: its connect, and each query's answer. */
export interface Steering {
  beforeConnect?: () => Promise<void>;
  /** Runs after the query answered and before its answer is handed back. */
  afterQuery?: (text: string) => Promise<void>;
}

/**
 * A real listening connection (a pg.Client on the test server) whose connect
 * and answers a test can hold up, to put a notification between a query and
 * its answer deterministically.
 */
export function steeredListenClient(url: string, steering: Steering): () => ListenClient {
  return () => {
    const real = new pg.Client({ connectionString: url, application_name: LISTEN_APP, connectionTimeoutMillis: 2000 });
    return {
      connect: async () => {
        await steering.beforeConnect?.();
        return real.connect();
      },
      query: async (text: string, values?: unknown[]) => {
        const result = await real.query(text, values);
        await steering.afterQuery?.(text);
        return result;
      },
      on: (event: string, listener: (...args: never[]) => void) => real.on(event as 'error', listener as () => void),
      end: () => real.end(),
    } as ListenClient;
  };
}

/**
 * What reaches `process` as `event` while `run` runs: 'warning' (Node's own
 * printer set aside, so an expected warning keeps the run quiet), or
 * 'uncaughtException' (caught instead of ending the run, so a crash is a
 * failed assertion).
 */
export async function caught(event: 'warning' | 'uncaughtException', run: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const others = event === 'warning' ? process.listeners('warning') : [];
  for (const other of others) process.off('warning', other);
  const record = (error: Error) => seen.push(error);
  process.on(event, record);
  try {
    await run();
  } finally {
    process.off(event, record);
    for (const other of others) process.on('warning', other);
  }
  return seen;
}

/** Terminates every listening connection on the server; returns how many there were. */
export async function cutListeners(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1`, [LISTEN_APP]);
  return rows.filter((row) => row.cut === true).length;
}

/** Runs `close` at teardown, so a failed assertion cannot leave a connection keeping the process alive. */
export function closeLater<T extends { close(): Promise<void> }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

/** A fresh schema name, migrated, so tests sharing a server never see each other's rows. */
export async function freshSchema(pool: pg.Pool, label = 't'): Promise<string> {
  const schema = `${label}_${randomBytes(5).toString('hex')}`;
  await migrate(pool, { schema });
  return schema;
}

export async function makeStore(options: PostgresRefreshTokenStoreOptions = {}, poolConfig: pg.PoolConfig = {}): Promise<{ pool: pg.Pool; store: PostgresRefreshTokenStore; schema: string }> {
  const pool = await makePool(poolConfig);
  const schema = options.schema ?? (await freshSchema(pool));
  return { pool, schema, store: new PostgresRefreshTokenStore(pool, { ...options, schema }) };
}

/**
 * A fixture of session-core's store conformance suite: a store in a schema of
 * its own, whose footprint is every session and receipt row in it, so
 * "nothing left behind" is checked on the server itself.
 */
/*
 * The conformance suites check what the store does, not how fast: their 1,000 concurrent capped inserts
 * queue behind advisory locks, and on a loaded 2-core machine some waited past the default 1 s deadline
 * (a flaky ERR_STORAGE_UNAVAILABLE). They get 10 s; the deadline itself is fault.test.ts's subject.
 */
const SUITE_TIMEOUT = 10_000;

/**
 * The fixture's pool ends with the fixture: the conformance suites make one per
 * test, hundreds per file, and pools left for teardown() held their idle
 * connections until the server refused more ("too many clients already").
 */
async function endPool(pool: pg.Pool): Promise<void> {
  pools.delete(pool);
  await pool.end().catch(() => undefined);
}

export async function storeFixture(options: PostgresRefreshTokenStoreOptions = {}, poolConfig: pg.PoolConfig = {}) {
  const { pool, store } = await makeStore({ queryTimeout: SUITE_TIMEOUT, ...options }, poolConfig);
  return {
    store,
    footprint: async () => {
      const { sessions, receipts } = await store.count();
      return sessions + receipts;
    },
    close: async () => {
      await store.close();
      await endPool(pool);
    },
  };
}

/** A fixture of session-core's manager conformance suite: the store as above, and a memory cache. */
export async function managerFixture(options: PostgresRefreshTokenStoreOptions = {}, poolConfig: pg.PoolConfig = {}) {
  const { pool, store } = await makeStore({ queryTimeout: SUITE_TIMEOUT, ...options }, poolConfig);
  const cache = new MemoryInvalidAccessTokenCache();
  return {
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    close: async () => {
      await store.close();
      await cache.close();
      await endPool(pool);
    },
  };
}

/** A broadcaster over a pool of its own (`poolConfig`: e.g. through PgBouncer); its listening connection goes straight to the server. */
export async function makeBroadcaster(schema: string, options: Partial<PostgresInvalidationBroadcasterOptions> = {}, poolConfig: pg.PoolConfig = {}): Promise<PostgresInvalidationBroadcaster> {
  const s = await pgServer();
  const pool = await makePool(poolConfig);
  return closeLater(new PostgresInvalidationBroadcaster(pool, { listenClient: listenClient(s.url), schema, ...options }));
}

/**
 * One node: its own pool, store, cache, broadcaster and manager, over a shared
 * schema. `poolUrl` sends the pool's queries elsewhere (through PgBouncer);
 * the listening connection always goes straight to the server.
 */
export async function makeNode(
  schema: string,
  options: { queryTimeout?: number; maxSessionsPerSubject?: number; heartbeatInterval?: number; poolUrl?: string; preparedStatements?: boolean } = {},
) {
  const s = await pgServer();
  const pool = await makePool(options.poolUrl === undefined ? {} : { connectionString: options.poolUrl });
  const queryTimeout = options.queryTimeout ?? 500;
  const broadcaster = new PostgresInvalidationBroadcaster(pool, {
    listenClient: listenClient(s.url),
    schema,
    queryTimeout,
    heartbeatInterval: options.heartbeatInterval ?? 300,
  });
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: TEST_KEY,
    issuer: 'https://issuer.test',
    audience: 'api',
    ...(options.maxSessionsPerSubject === undefined ? {} : { maxSessionsPerSubject: options.maxSessionsPerSubject }),
    refreshTokenStore: new PostgresRefreshTokenStore(pool, { schema, queryTimeout, ...(options.preparedStatements === undefined ? {} : { preparedStatements: options.preparedStatements }) }),
    invalidAccessTokenCache: cache,
    broadcaster,
  });
  const node = {
    manager,
    pool,
    close: async () => {
      await manager.close();
      await broadcaster.close();
      cache.close();
    },
  };
  closers.push(node.close);
  return node;
}

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error instanceof SessionError ? error.code : String(error)),
  );
}

export async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) assert.unreachable(`never happened within ${ms} ms: ${what}`);
    await sleep(25);
  }
  return Date.now() - start;
}

/** Closes what the file opened and stops its server. */
export async function teardown(): Promise<void> {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await Promise.all([...pools].map((pool) => pool.end().catch(() => undefined)));
  pools.clear();
  const s = server;
  server = undefined;
  await (await s)?.stop();
}

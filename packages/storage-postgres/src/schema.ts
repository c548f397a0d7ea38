import { SessionError } from '@jwt-session/session-core';
import { MIGRATIONS } from './migrations/index.js';
import type { Queryable } from './bounded.js';

/*
 * Where the tables live, and how they get there. The schema name is an
 * option so that two applications (or two test runs) can share a database;
 * it is limited to a plain lower-case identifier so it can be quoted without
 * surprises and the NOTIFY channel built from it stays within PostgreSQL's
 * 63-byte names.
 */
export const DEFAULT_SCHEMA = 'jwt_session';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

/** The schema name, checked, and its quoted form for SQL. */
export function checkSchema(value: unknown): { name: string; quoted: string } {
  const name = value ?? DEFAULT_SCHEMA;
  if (typeof name !== 'string' || !SCHEMA_NAME.test(name)) {
    throw new SessionError('ERR_CONFIG_INVALID', 'options.schema must be a lower-case identifier of at most 40 characters ([a-z_][a-z0-9_]*)');
  }
  return { name, quoted: `"${name}"` };
}

export interface MigrateOptions {
  /** @default 'jwt_session' */
  schema?: string;
}

export interface MigrateResult {
  /** Versions applied by this call (none when the schema was current). */
  applied: number[];
  /** The schema's version now. */
  version: number;
}

/** A connection migrate() can hold for one transaction: a `pg.Pool` (a client is checked out) or a connected `pg.Client`. */
export type MigrationTarget = Queryable & { connect?: () => Promise<unknown>; totalCount?: number };

interface PooledClient extends Queryable {
  release(destroy?: boolean): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  off?(event: 'error', listener: (error: Error) => void): unknown;
}

/*
 * A client checked out of a pg.Pool has no 'error' listener of the pool's
 * while it is out: a connection lost then (even mid-query, where the query
 * rejects as well) is emitted as 'error' on the client, and with no
 * listener that ends the process. migrate() holds one for its transaction,
 * so it listens itself; the failed query is what it reports.
 */
const ignore = (): void => undefined;

/**
 * Brings the schema to the newest version: creates it and its history table
 * when missing, then applies each migration not yet recorded, all in one
 * transaction under an advisory lock, so nodes starting together migrate
 * once and a failed migration leaves nothing half done. Idempotent.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool); // or migrate(pool, { schema: 'auth' })
 * ```
 */
export async function migrate(db: MigrationTarget, options: MigrateOptions = {}): Promise<MigrateResult> {
  const { name, quoted } = checkSchema(options.schema);
  const pooled = typeof db.totalCount === 'number' && typeof db.connect === 'function';
  const client = pooled ? ((await db.connect!()) as PooledClient) : db;
  if (pooled) (client as PooledClient).on?.('error', ignore);
  let failed = false;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`jwt-session migrate ${name}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set((await client.query(`SELECT version FROM ${quoted}.schema_migrations`)).rows.map((row) => Number(row.version)));
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await client.query(migration.sql(quoted));
        await client.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        applied.push(migration.version);
      }
      await client.query('COMMIT');
      return { applied, version: Math.max(0, ...done, ...applied) };
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    if (pooled) {
      (client as PooledClient).off?.('error', ignore);
      (client as PooledClient).release(failed);
    }
  }
}

/** The SQL of every migration for a schema, in order, for DBAs who apply migrations with their own tool. */
export function migrationSql(options: MigrateOptions = {}): { version: number; name: string; sql: string }[] {
  const { quoted } = checkSchema(options.schema);
  return MIGRATIONS.map((m) => ({ version: m.version, name: m.name, sql: m.sql(quoted) }));
}

import { isSessionError, type JwtUserSessionManager } from '@jwt-session/session-core';
import { DEFAULT_SCHEMA, PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, schemaVersion } from '@jwt-session/storage-postgres';
import type pg from 'pg';
import { CliError, usage } from './errors.js';
import { operatorManager } from './operator.js';
import { connectPostgres, listenClientFor, postgresTarget, type PostgresFlags, type PostgresTarget } from './postgres.js';

/** What a command gets on PostgreSQL: the pool, the checked schema name, and the target it came from. */
export interface PostgresConnection {
  pool: pg.Pool;
  schema: string;
  target: PostgresTarget;
}

/**
 * Connects, checks the schema was migrated (the CLI never creates tables),
 * runs `body`, and always ends the pool, so the process can exit.
 */
export async function withPostgres<T>(flags: PostgresFlags, command: string, body: (db: PostgresConnection) => Promise<T>): Promise<T> {
  if (flags.postgres === undefined) throw usage(`${command}: --postgres <url> is required`);
  const target = postgresTarget(flags.postgres);
  const schema = flags.schema ?? DEFAULT_SCHEMA;
  const pool = await connectPostgres(target);
  try {
    let applied: number;
    try {
      applied = await schemaVersion(pool, { schema, queryTimeout: 5000 });
    } catch (cause) {
      // The name is checked before any query is sent.
      if (isSessionError(cause) && cause.code === 'ERR_CONFIG_INVALID') throw new CliError('ERR_USAGE', '--schema must be a lower-case identifier of at most 40 characters ([a-z_][a-z0-9_]*)', { cause });
      throw unavailable(command, cause, target);
    }
    if (applied === 0) throw new CliError('ERR_OPERATION_FAILED', `${command}: schema "${schema}" holds no jwt-session tables (run migrate() first, or pass the application's --schema)`);
    return await body({ pool, schema, target });
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** ERR_POSTGRES_UNAVAILABLE for a query that failed or did not answer. */
export function unavailable(command: string, cause: unknown, target: PostgresTarget): CliError {
  const why = isSessionError(cause) ? ` (${cause.message})` : '';
  return new CliError('ERR_POSTGRES_UNAVAILABLE', `${command}: PostgreSQL at ${target.where} did not answer${why}`, { cause });
}

/** withPostgres plus the operator's manager over the PostgreSQL store and broadcaster. */
export function withPostgresManager<T>(
  flags: PostgresFlags,
  accessTokenTtl: number,
  command: string,
  body: (parts: { manager: JwtUserSessionManager; broadcaster: PostgresInvalidationBroadcaster }) => Promise<T>,
): Promise<T> {
  return withPostgres(flags, command, async ({ pool, schema, target }) => {
    // The broadcaster keeps each revocation for its event's own lifetime: a CLI publish never trims a row a node still needs.
    const broadcaster = new PostgresInvalidationBroadcaster(pool, { schema, listenClient: listenClientFor(target) });
    const operator = operatorManager(new PostgresRefreshTokenStore(pool, { schema }), broadcaster, accessTokenTtl);
    try {
      return await body({ manager: operator.manager, broadcaster });
    } finally {
      await operator.close();
    }
  });
}

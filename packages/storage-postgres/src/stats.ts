import { SessionError } from '@jwt-session/session-core';
import { DEFAULT_QUERY_TIMEOUT, boundedQuery, type Queryable } from './bounded.js';
import { checkSchema } from './schema.js';
import { MIGRATED, statsStatement, versionStatement } from './sql.js';

export interface SchemaStatsOptions {
  /** @default 'jwt_session' */
  schema?: string;
  /** ms the database has to answer each of the two queries. @default 10000 (the counts walk the tables) */
  queryTimeout?: number;
}

/** What a schema holds, on the database's clock: for operator tools (the CLI's `stats`) and capacity planning. */
export interface SchemaStats {
  schema: string;
  /** The newest migration applied. */
  version: number;
  /** Sessions still live, and those past their deadline that the sweep has not removed yet. */
  sessions: { live: number; dead: number };
  /** Subjects with at least one live session. */
  subjects: number;
  /** Insert receipts still kept for `settleInsert`. */
  receipts: number;
  /** The revocations log: rows still kept, the age of the oldest and newest event (null when empty), the NOTIFY channel. */
  revocations: { rows: number; oldestAgeMs: number | null; newestAgeMs: number | null; channel: string };
  /** Bytes on disk of each table with its indexes and TOAST (`pg_total_relation_size`). */
  bytes: { sessions: number; receipts: number; revocations: number; total: number };
}

/**
 * Reads what a schema holds. Rejects with ERR_STORAGE_UNAVAILABLE when the
 * database does not answer, and with ERR_CONFIG_INVALID when the schema was
 * never migrated (nothing to read; `migrate()` makes it).
 */
export async function schemaStats(db: Queryable, options: SchemaStatsOptions = {}): Promise<SchemaStats> {
  const { name, quoted } = checkSchema(options.schema);
  const timeout = options.queryTimeout ?? 10_000;
  const version = await schemaVersion(db, { schema: name, queryTimeout: timeout });
  if (version === 0) throw new SessionError('ERR_CONFIG_INVALID', `schema "${name}" holds no jwt-session tables: run migrate() first`);
  const [row] = await boundedQuery(db, 'stats', timeout, { text: statsStatement(quoted, name), values: [] });
  const r = row!;
  const bytes = { sessions: r.sessions_bytes as number, receipts: r.receipts_bytes as number, revocations: r.revocations_bytes as number };
  return {
    schema: name,
    version,
    sessions: { live: r.live as number, dead: r.dead as number },
    subjects: r.subjects as number,
    receipts: r.receipts as number,
    revocations: { rows: r.revocations as number, oldestAgeMs: r.oldest_age as number | null, newestAgeMs: r.newest_age as number | null, channel: r.channel as string },
    bytes: { ...bytes, total: bytes.sessions + bytes.receipts + bytes.revocations },
  };
}

/** The schema's version: 0 when it was never migrated. */
export async function schemaVersion(db: Queryable, options: SchemaStatsOptions = {}): Promise<number> {
  const { quoted } = checkSchema(options.schema);
  const timeout = options.queryTimeout ?? DEFAULT_QUERY_TIMEOUT;
  const [probe] = await boundedQuery(db, 'version', timeout, { text: MIGRATED, values: [`${quoted}.schema_migrations`] });
  if (probe!.migrated !== true) return 0;
  const [row] = await boundedQuery(db, 'version', timeout, { text: versionStatement(quoted), values: [] });
  return row!.version as number;
}

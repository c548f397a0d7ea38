/*
 * Every statement this package sends, kept together as storage-redis keeps
 * its Lua. The schema's tables, indexes and the store's functions are made by
 * the numbered migrations (src/migrations/); what is here calls them or reads
 * and writes the tables directly, for a schema name already checked and
 * quoted (schema.ts).
 *
 * Times cross the boundary as milliseconds since the epoch (float8
 * parameters) and are timestamptz inside; `ms()` turns one back exactly
 * (extract gives numeric, cast to float8 only after the multiplication).
 */

/** A timestamptz expression as ms since the epoch. */
export const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** A float8 ms parameter as a timestamptz. */
const ts = (param: string): string => `to_timestamp(${param}::float8 / 1000)`;

/** The columns of a session as the store reads them (no hashes): see `decode` in refresh-token-store.ts. */
const SESSION_COLUMNS = `session_id, subject, generation, ${ms('created_at')} AS created_at, ${ms('last_refreshed_at')} AS last_refreshed_at,
  ${ms('rotated_at')} AS rotated_at, ${ms('expires_at')} AS expires_at, ${ms('idle_expires_at')} AS idle_expires_at, claims::text AS claims, context::text AS context`;

export interface StoreStatements {
  /** $1 now, $2 max (null: no cap), $3 receipt ttl, $4 id, $5 subject, $6 hash, $7 created, $8 expires, $9 idle (null), $10 claims, $11 context, $12 sweep batch → evicted */
  readonly insert: string;
  /** insert's $1–$12, then $13 issuer, $14 upstream subject, $15 upstream sid (null) → evicted (migration 3) */
  readonly insertLinked: string;
  /** $1 issuer, $2 upstream sid, $3 now → session_id, subject of the live sessions linked to it */
  readonly findBySid: string;
  /** $1 issuer, $2 upstream subject, $3 now → session_id, subject of the live sessions linked to it */
  readonly findBySubject: string;
  /** $1 now, $2 id, $3 subject, $4 receipt ttl → evicted */
  readonly settle: string;
  /** $1 now, $2 id, $3 presented, $4 successor, $5 reuse, $6 idle ttl (null), $7 claims (null), $8 context entries to merge (null), $9 revoke previous → one row */
  readonly rotate: string;
  /** $1 now, $2 subject → the live sessions, newest first; drops the subject's dead ones */
  readonly list: string;
  /** $1 id, $2 subject, $3 now → live: whether a live session was deleted */
  readonly delete: string;
  /** $1 subject, $2 now → at (database clock, ms), ids of the live sessions deleted */
  readonly deleteAll: string;
  /** $1 now, $2 batch → swept: sessions and receipts removed */
  readonly sweep: string;
  /** $1 now, $2 subject, $3 fingerprint, $4 ttl, $5 max → answer: 'known', 'new' or 'first' */
  readonly rememberDevice: string;
  /** → sessions, receipts: rows held (operators, tests) */
  readonly count: string;
}

export function storeStatements(s: string): StoreStatements {
  return {
    insert: `SELECT ${s}.insert_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12) AS evicted`,
    insertLinked: `SELECT ${s}.insert_linked_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15) AS evicted`,
    findBySid: `SELECT s.session_id, s.subject FROM ${s}.session_upstreams u JOIN ${s}.sessions s ON s.session_id = u.session_id
WHERE u.issuer = $1 AND u.upstream_sid = $2 AND s.deadline > ${ts('$3')}`,
    findBySubject: `SELECT s.session_id, s.subject FROM ${s}.session_upstreams u JOIN ${s}.sessions s ON s.session_id = u.session_id
WHERE u.issuer = $1 AND u.upstream_subject = $2 AND s.deadline > ${ts('$3')}`,
    settle: `SELECT ${s}.settle_insert($1, $2, $3, $4) AS evicted`,
    rotate: `SELECT * FROM ${s}.rotate_session_v2($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)`,
    list: `WITH dead AS (DELETE FROM ${s}.sessions WHERE subject = $2 AND deadline <= ${ts('$1')})
SELECT ${SESSION_COLUMNS}, u.issuer AS upstream_issuer, u.upstream_subject, u.upstream_sid
FROM ${s}.sessions LEFT JOIN ${s}.session_upstreams u USING (session_id) WHERE subject = $2 AND deadline > ${ts('$1')} ORDER BY created_at DESC, session_id`,
    delete: `WITH gone AS (DELETE FROM ${s}.sessions WHERE session_id = $1 AND subject = $2 RETURNING deadline)
SELECT count(*) FILTER (WHERE deadline > ${ts('$3')}) > 0 AS live FROM gone`,
    // floor(): whole ms, as the other stores report it; now() is the statement's start on the database's clock.
    deleteAll: `WITH gone AS (DELETE FROM ${s}.sessions WHERE subject = $1 RETURNING session_id, deadline),
receipts AS (DELETE FROM ${s}.insert_receipts WHERE session_id IN (SELECT session_id FROM gone))
SELECT floor(extract(epoch FROM now()) * 1000)::float8 AS at, ARRAY(SELECT session_id FROM gone WHERE deadline > ${ts('$2')} ORDER BY session_id) AS ids`,
    sweep: `WITH a AS (DELETE FROM ${s}.sessions WHERE session_id IN (
  SELECT session_id FROM ${s}.sessions WHERE deadline <= LEAST(${ts('$1')}, now()) ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1),
b AS (DELETE FROM ${s}.insert_receipts WHERE session_id IN (
  SELECT session_id FROM ${s}.insert_receipts WHERE expires_at <= LEAST(${ts('$1')}, now()) ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1),
c AS (DELETE FROM ${s}.device_history WHERE (subject, fingerprint) IN (
  SELECT subject, fingerprint FROM ${s}.device_history WHERE expires_at <= LEAST(${ts('$1')}, now()) ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1)
SELECT (SELECT count(*) FROM a)::integer + (SELECT count(*) FROM b)::integer + (SELECT count(*) FROM c)::integer AS swept`,
    rememberDevice: `SELECT ${s}.remember_device($1, $2, $3, $4, $5) AS answer`,
    count: `SELECT (SELECT count(*) FROM ${s}.sessions)::integer AS sessions, (SELECT count(*) FROM ${s}.insert_receipts)::integer AS receipts`,
  };
}

/** The columns of a revocation as a subscription reads them: see `eventOf` in broadcaster rows. */
const REVOCATION_COLUMNS = `r.id::text AS id, r.origin, r.kind, r.subject, r.session_id, r.reason, ${ms('r.at')} AS at, ${ms('r.expires_at')} AS expires_at, r.session_ids`;

/** Payloads longer than this (bytes) carry only the id; NOTIFY refuses 8000 and more, and the id and a space come first. */
export const NOTIFY_INLINE_LIMIT = 7900;

export interface BroadcastStatements {
  /**
   * $1 origin, $2 kind, $3 subject, $4 session id, $5 reason, $6 at, $7 expires, $8 session ids, $9 keep ms,
   * $10 channel, $11 "origin event-JSON" → id. Inserts, notifies (inline when it fits, else the id alone),
   * and trims a few rows past their keep_until, through its index.
   */
  readonly publish: string;
  /** $1 horizon (xid8) → horizon, then the rows still kept whose transaction is at or after it, by id (none: one row of nulls). */
  readonly catchUp: string;
  /** $1 id → the row, if still kept. */
  readonly byId: string;
  /**
   * $1 xact, $2 id, $3 limit → the rows still kept after ($1, $2) in (xact, id) order, among those whose
   * transaction is below the horizon: `entriesAfter`'s page (see broadcaster.ts).
   */
  readonly logPage: string;
  readonly listen: string;
  readonly unlisten: string;
}

/** Channel names are identifiers (at most 63 bytes); schema names are limited so this one always fits. */
export const channelOf = (schemaName: string): string => `jwt_session_${schemaName}`;

export function broadcastStatements(s: string, schemaName: string): BroadcastStatements {
  const channel = channelOf(schemaName);
  return {
    publish: `WITH ins AS (
  INSERT INTO ${s}.revocations (origin, kind, subject, session_id, reason, at, expires_at, session_ids, keep_until)
  VALUES ($1, $2, $3, $4, $5, ${ts('$6')}, ${ts('$7')}, $8::text[], now() + $9::float8 * interval '1 millisecond') RETURNING id),
trimmed AS (DELETE FROM ${s}.revocations WHERE id IN (
  SELECT id FROM ${s}.revocations WHERE keep_until < now() ORDER BY keep_until LIMIT 32 FOR UPDATE SKIP LOCKED))
SELECT id::text AS id, pg_notify($10, CASE WHEN octet_length($11::text) <= ${NOTIFY_INLINE_LIMIT} THEN id || ' ' || $11 ELSE id::text END) FROM ins`,
    // The snapshot's xmin: every transaction below it has ended, so a row this read cannot see has an xact at or above it.
    catchUp: `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon)
SELECT h.horizon, ${REVOCATION_COLUMNS} FROM h LEFT JOIN ${s}.revocations r ON r.xact >= $1::xid8 AND r.keep_until > now() ORDER BY r.id`,
    byId: `SELECT ${REVOCATION_COLUMNS} FROM ${s}.revocations r WHERE r.id = $1::bigint AND r.keep_until > now()`,
    // Below the snapshot's xmin every transaction has ended: no row can appear there later, so a cursor into it misses nothing.
    logPage: `SELECT r.xact::text AS xact, ${REVOCATION_COLUMNS} FROM ${s}.revocations r
WHERE (r.xact, r.id) > ($1::xid8, $2::bigint) AND r.xact < pg_snapshot_xmin(pg_current_snapshot()) AND r.keep_until > now()
ORDER BY r.xact, r.id LIMIT $3`,
    listen: `LISTEN "${channel}"`,
    unlisten: `UNLISTEN "${channel}"`,
  };
}

/*
 * What an operator reads about a schema (see stats.ts). One statement, on the
 * database's clock; the counts walk the tables (an operator's command, never
 * a request's path), the sizes are the relations' own with their indexes and
 * TOAST (pg_total_relation_size).
 */
export function statsStatement(s: string, schemaName: string): string {
  const size = (table: string) => `pg_total_relation_size('${s}.${table}'::regclass)::float8`;
  return `SELECT
  (SELECT count(*) FILTER (WHERE deadline > now()) FROM ${s}.sessions)::float8 AS live,
  (SELECT count(*) FILTER (WHERE deadline <= now()) FROM ${s}.sessions)::float8 AS dead,
  (SELECT count(DISTINCT subject) FROM ${s}.sessions WHERE deadline > now())::float8 AS subjects,
  (SELECT count(*) FROM ${s}.insert_receipts WHERE expires_at > now())::float8 AS receipts,
  (SELECT count(*) FROM ${s}.revocations WHERE keep_until > now())::float8 AS revocations,
  (SELECT ${ms('now() - min(at)')} FROM ${s}.revocations WHERE keep_until > now()) AS oldest_age,
  (SELECT ${ms('now() - max(at)')} FROM ${s}.revocations WHERE keep_until > now()) AS newest_age,
  ${size('sessions')} AS sessions_bytes,
  ${size('insert_receipts')} AS receipts_bytes,
  ${size('revocations')} AS revocations_bytes,
  '${channelOf(schemaName)}' AS channel`;
}

/** $1 the schema's history table, quoted (`"name".schema_migrations`) → whether it exists. */
export const MIGRATED = `SELECT to_regclass($1) IS NOT NULL AS migrated`;

/** The schema's version, once MIGRATED said its history table exists. */
export const versionStatement = (s: string): string => `SELECT COALESCE(max(version), 0) AS version FROM ${s}.schema_migrations`;

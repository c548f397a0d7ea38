import type {
  DeleteAllResult,
  InsertOptions,
  InsertResult,
  NewSessionRecord,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionContext,
  StoredSessionInfo,
  UpstreamSelector,
  UpstreamSessionRef,
} from '@jwt-session/session-core';
import { DEFAULT_RECEIPT_TTL, SessionError, checkDeviceFingerprint, isSessionIdOf, storeInput, type DeviceHistoryResult } from '@jwt-session/session-core';
import { DEFAULT_QUERY_TIMEOUT, boundedQuery, checkCount, checkTimeout, type Queryable } from './bounded.js';
import { warnWithoutErrorListener } from './error-listener.js';
import { checkSchema } from './schema.js';
import { storeStatements, type StoreStatements } from './sql.js';
import { fromStored, fromStoredJson, toStored, toStoredJson } from './text.js';

export interface PostgresRefreshTokenStoreOptions {
  /** Schema holding the tables (made by `migrate()`). @default 'jwt_session' */
  schema?: string;
  /**
   * ms the database has to answer an operation, else it rejects with
   * ERR_STORAGE_UNAVAILABLE (its outcome unknown). Counts from the call, so
   * it includes the wait for a free client of the pool. @default 1000
   */
  queryTimeout?: number;
  /**
   * Dead rows (sessions past their deadline, receipts past their time) each
   * insert removes, oldest first, through the deadline index. @default 8
   */
  sweepBatch?: number;
  /**
   * Name the statements, so each connection parses and plans them once.
   * Turn off behind PgBouncer in transaction mode older than 1.21 (or with
   * `max_prepared_statements = 0`), where a named statement prepared on one
   * server connection is missing on the next. @default true
   */
  preparedStatements?: boolean;
}

/** A session row as the list statement and the rotate function return it (see sql.ts). */
interface SessionRow {
  subject: string;
  generation: number;
  created_at: number;
  last_refreshed_at: number;
  rotated_at: number;
  expires_at: number;
  idle_expires_at: number | null;
  claims: string;
  context: string;
  /** From the list statement only (a LEFT JOIN of session_upstreams): null for an unlinked session. */
  upstream_issuer?: string | null;
  upstream_subject?: string | null;
  upstream_sid?: string | null;
}

function decode(sessionId: string, row: SessionRow): StoredSessionInfo {
  return {
    sessionId,
    subject: fromStored(row.subject),
    generation: row.generation,
    createdAt: row.created_at,
    lastRefreshedAt: row.last_refreshed_at,
    rotatedAt: row.rotated_at,
    expiresAt: row.expires_at,
    ...(row.idle_expires_at === null ? {} : { idleExpiresAt: row.idle_expires_at }),
    claims: JSON.parse(fromStoredJson(row.claims)) as Record<string, unknown>,
    context: JSON.parse(fromStoredJson(row.context)) as SessionContext,
    ...(typeof row.upstream_issuer === 'string'
      ? {
          upstream: {
            issuer: fromStored(row.upstream_issuer),
            subject: fromStored(row.upstream_subject!),
            ...(typeof row.upstream_sid === 'string' ? { sessionId: fromStored(row.upstream_sid) } : {}),
          },
        }
      : {}),
  };
}

/**
 * Sessions in PostgreSQL, shared by every node. Each method is one statement
 * (a function call for those that check and then change, see
 * src/migrations/001-initial.ts): one round trip, atomic. Only hashes of
 * refresh secrets are stored. Dead rows leave through a bounded sweep on
 * each insert and whenever their subject is listed; an idle database is sent
 * nothing. Every failure (database down, not answering within
 * `queryTimeout`, missing schema) rejects with SessionError
 * ERR_STORAGE_UNAVAILABLE.
 *
 * The pool belongs to the caller: the store never connects, ends or
 * reconfigures it. Run `migrate(pool)` once before use.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const store = new PostgresRefreshTokenStore(pool);
 * ```
 */
export class PostgresRefreshTokenStore implements RefreshTokenStore {
  readonly #db: Queryable;
  readonly #sql: StoreStatements;
  readonly #names: Record<keyof StoreStatements, string | undefined>;
  readonly #timeout: number;
  readonly #sweepBatch: number;

  constructor(db: Queryable, options: PostgresRefreshTokenStoreOptions = {}) {
    if (db === null || typeof db !== 'object' || typeof db.query !== 'function') throw new SessionError('ERR_CONFIG_INVALID', 'the store needs a pg.Pool (or anything with its query method)');
    const schema = checkSchema(options.schema);
    this.#db = db;
    this.#sql = storeStatements(schema.quoted);
    this.#timeout = checkTimeout(options.queryTimeout, 'queryTimeout', DEFAULT_QUERY_TIMEOUT);
    this.#sweepBatch = checkCount(options.sweepBatch, 'sweepBatch', 8);
    if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') throw new SessionError('ERR_CONFIG_INVALID', 'options.preparedStatements must be a boolean');
    const named = options.preparedStatements ?? true;
    // Names are per connection and per text: one per schema, so two stores on one pool never collide.
    this.#names = Object.fromEntries(Object.keys(this.#sql).map((key) => [key, named ? `jwt_session_${schema.name}_${key}` : undefined])) as Record<keyof StoreStatements, string | undefined>;
    warnWithoutErrorListener(db, 'PostgresRefreshTokenStore');
  }

  async insert(input: NewSessionRecord, options: InsertOptions): Promise<InsertResult> {
    const session = storeInput.record(input);
    const { now, maxSessionsPerSubject, receiptTtl } = storeInput.insertOptions(options);
    const { upstream } = session;
    // A linked session and its link in one transaction (migration 3's insert_linked_session).
    const link = upstream === undefined ? [] : [toStored(upstream.issuer), toStored(upstream.subject), upstream.sessionId === undefined ? null : toStored(upstream.sessionId)];
    const [row] = await this.#run(upstream === undefined ? 'insert' : 'insertLinked', [
      now,
      maxSessionsPerSubject ?? null,
      receiptTtl ?? DEFAULT_RECEIPT_TTL,
      session.sessionId,
      toStored(session.subject),
      session.tokenHash,
      session.createdAt,
      session.expiresAt,
      session.idleExpiresAt ?? null,
      toStoredJson(JSON.stringify(session.claims)),
      toStoredJson(JSON.stringify(session.context)),
      this.#sweepBatch,
      ...link,
    ]);
    return { evicted: row!.evicted as string[] };
  }

  async settleInsert(subject: string, sessionId: string, options: { now: number; receiptTtl?: number | undefined }): Promise<string[]> {
    storeInput.subjectAndId(subject, sessionId);
    const { now, receiptTtl } = storeInput.insertOptions(options);
    if (!isSessionIdOf(sessionId, subject)) return [];
    const [row] = await this.#run('settle', [now, sessionId, toStored(subject), receiptTtl ?? DEFAULT_RECEIPT_TTL]);
    return row!.evicted as string[];
  }

  async rotate(input: RotateRequest): Promise<RotateResult> {
    const request = storeInput.rotate(input);
    if (!storeInput.isSessionId(request.sessionId)) return { status: 'not_found' };
    const [row] = (await this.#run('rotate', [
      request.now,
      request.sessionId,
      request.presentedHash,
      request.successorHash,
      request.reuseInterval,
      request.idleTtl ?? null,
      request.claims === undefined ? null : toStoredJson(JSON.stringify(request.claims)),
      // Merged name by name into the stored context (jsonb ||); storeInput's JSON copy has no undefined entries left.
      request.context === undefined ? null : toStoredJson(JSON.stringify(request.context)),
      request.revokePrevious !== false,
    ])) as unknown as (SessionRow & { status: string; token_hash: string | null })[];
    const { status } = row!;
    switch (status) {
      case 'rotated':
      case 'grace':
        return { status, session: decode(request.sessionId, row!) };
      case 'reused':
        return { status, subject: fromStored(row!.subject) };
      case 'reused_kept':
        return { status: 'reused', subject: fromStored(row!.subject), revoked: false };
      case 'mismatch':
        // The current hash and generation: the manager tells an older token of the chain from one past it.
        return { status, subject: fromStored(row!.subject), tokenHash: row!.token_hash!, generation: row!.generation };
      case 'expired':
        return { status };
      case 'expired_idle':
        return { status: 'expired', idle: true };
      default:
        return { status: 'not_found' };
    }
  }

  async list(subject: string, now: number): Promise<StoredSessionInfo[]> {
    storeInput.subject(subject);
    storeInput.now(now);
    const rows = (await this.#run('list', [now, toStored(subject)])) as unknown as (SessionRow & { session_id: string })[];
    return rows.map((row) => decode(row.session_id, row));
  }

  /** The live sessions linked to the provider session or user, through session_upstreams' indexes. */
  async findUpstream(selector: UpstreamSelector, now: number): Promise<UpstreamSessionRef[]> {
    const checked = storeInput.upstreamSelector(selector);
    storeInput.now(now);
    const rows =
      checked.sessionId !== undefined
        ? await this.#run('findBySid', [toStored(checked.issuer), toStored(checked.sessionId), now])
        : await this.#run('findBySubject', [toStored(checked.issuer), toStored(checked.subject), now]);
    return rows.map((row) => ({ sessionId: row.session_id as string, subject: fromStored(row.subject as string) }));
  }

  async delete(subject: string, sessionId: string, now: number): Promise<boolean> {
    storeInput.subjectAndId(subject, sessionId);
    storeInput.now(now);
    if (!isSessionIdOf(sessionId, subject)) return false;
    const [row] = await this.#run('delete', [sessionId, toStored(subject), now]);
    return row!.live === true;
  }

  async deleteAll(subject: string, now: number): Promise<DeleteAllResult> {
    storeInput.subject(subject);
    storeInput.now(now);
    const [row] = await this.#run('deleteAll', [toStored(subject), now]);
    return { sessionIds: row!.ids as string[], at: row!.at as number };
  }

  /**
   * Removes up to `limit` dead sessions and as many dead receipts, oldest
   * first, through their indexes; returns how many rows went. Inserts do this
   * a few rows at a time already: call it from a scheduled job to empty the
   * tables after a quiet spell (rows past their deadline are never returned
   * meanwhile; they only take space).
   */
  async sweep(now: number, limit = 1000): Promise<number> {
    storeInput.now(now);
    const batch = checkCount(limit, 'limit', 1000);
    const [row] = await this.#run('sweep', [now, batch]);
    return row!.swept as number;
  }

  /** Rows held: sessions (dead ones included until swept) and insert receipts. For operator tools. */
  async count(): Promise<{ sessions: number; receipts: number }> {
    const [row] = await this.#run('count', []);
    return { sessions: row!.sessions as number, receipts: row!.receipts as number };
  }

  /** Nothing to release: the pool is the caller's to end. */
  async close(): Promise<void> {}

  /** The subject's device history (issue 22): one call of remember_device (migration 2), locked per subject. */
  async rememberDevice(subject: string, fingerprint: string, options: { now: number; ttl: number; max: number }): Promise<DeviceHistoryResult> {
    storeInput.subject(subject);
    const { now, ttl, max } = checkDeviceFingerprint(subject, fingerprint, options);
    const [row] = await this.#run('rememberDevice', [now, toStored(subject), fingerprint, ttl, max]);
    return row!.answer as DeviceHistoryResult;
  }

  #run(operation: keyof StoreStatements, values: unknown[]): Promise<Record<string, unknown>[]> {
    return boundedQuery(this.#db, operation, this.#timeout, { text: this.#sql[operation], values, name: this.#names[operation] });
  }
}

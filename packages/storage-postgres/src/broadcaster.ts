import type { InvalidationBroadcaster, InvalidationEvent, InvalidationReceiver, InvalidationSubscription, RevocationLogPage } from '@jwt-session/session-core';
import { SessionError, assertInvalidationReceiver, checkRevocationLogRead, parseInvalidationEvent } from '@jwt-session/session-core';
import { DEFAULT_QUERY_TIMEOUT, boundedQuery, checkTimeout, type Queryable } from './bounded.js';
import { Listener, type ListenClient } from './listener.js';
import { eventOfRow, rowValues, type RevocationRow } from './revocation-row.js';
import { warnWithoutErrorListener } from './error-listener.js';
import { checkSchema } from './schema.js';
import { broadcastStatements, channelOf, type BroadcastStatements } from './sql.js';
import { PostgresSubscription } from './subscription.js';

export interface PostgresInvalidationBroadcasterOptions {
  /**
   * Makes the connection the broadcaster LISTENs on: a new, unconnected
   * `pg.Client`, connected straight to PostgreSQL (not through a PgBouncer in
   * transaction mode, which does not carry LISTEN). Called again after the
   * connection is lost. Required.
   */
  listenClient: () => ListenClient;
  /** Schema holding the revocations table (made by `migrate()`). @default 'jwt_session' */
  schema?: string;
  /** ms `publish` (and each read of the listening connection) may take before it fails. @default 1000 */
  queryTimeout?: number;
  /** ms between liveness checks (`SELECT 1`) of the listening connection. @default 10000 */
  heartbeatInterval?: number;
  /**
   * ms a revocation is kept for nodes that catch up, on the database's clock.
   * @default the event's own remaining lifetime (`expiresAt` minus now): past
   * it, the access tokens it invalidates have expired anyway
   */
  retention?: number;
  /** ms since the epoch; events whose `expiresAt` has passed are not delivered. @default Date.now */
  clock?: () => number;
}

/** `<xact>-<id>`: the row's transaction (xid8) and id; `0-0` is the start. */
const LOG_CURSOR = /^(\d{1,20})-(\d{1,19})$/;

/**
 * Carries invalidations between nodes through PostgreSQL: each one is a row
 * of the revocations table and a NOTIFY on the schema's channel. A node
 * receives them live on its LISTEN connection; a node that was disconnected,
 * restarted or started later reads what it missed from the table (see
 * listener.ts), and `ready()` resolves once a new subscription has read what
 * is still in force. Rows leave the table when their keep time is over,
 * a few at a time as later ones are published.
 *
 * The pool (for publishing) belongs to the caller; the listening connection is
 * made with the caller's factory and ended by `close()`.
 *
 * @example
 * ```ts
 * const broadcaster = new PostgresInvalidationBroadcaster(pool, { listenClient: () => new pg.Client(process.env.DATABASE_URL) });
 * ```
 */
export class PostgresInvalidationBroadcaster implements InvalidationBroadcaster {
  readonly #db: Queryable;
  readonly #sql: BroadcastStatements;
  readonly #channel: string;
  readonly #makeClient: () => ListenClient;
  readonly #timeout: number;
  readonly #heartbeat: number;
  readonly #retention: number | undefined;
  readonly #clock: () => number;
  #listener: Listener | undefined;

  constructor(db: Queryable, options: PostgresInvalidationBroadcasterOptions) {
    if (db === null || typeof db !== 'object' || typeof db.query !== 'function') throw new SessionError('ERR_CONFIG_INVALID', 'the broadcaster needs a pg.Pool (or anything with its query method)');
    if (options === null || typeof options !== 'object' || typeof options.listenClient !== 'function') {
      throw new SessionError('ERR_CONFIG_INVALID', 'options.listenClient must be a function returning a new pg.Client');
    }
    const schema = checkSchema(options.schema);
    this.#db = db;
    this.#sql = broadcastStatements(schema.quoted, schema.name);
    this.#channel = channelOf(schema.name);
    this.#makeClient = options.listenClient;
    this.#timeout = checkTimeout(options.queryTimeout, 'queryTimeout', DEFAULT_QUERY_TIMEOUT);
    this.#heartbeat = checkTimeout(options.heartbeatInterval, 'heartbeatInterval', 10_000);
    this.#retention = options.retention === undefined ? undefined : checkTimeout(options.retention, 'retention', 0);
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new SessionError('ERR_CONFIG_INVALID', 'options.clock must be a function returning milliseconds');
    this.#clock = options.clock ?? Date.now;
    warnWithoutErrorListener(db, 'PostgresInvalidationBroadcaster');
  }

  /** The NOTIFY channel. */
  get channel(): string {
    return this.#channel;
  }

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    assertInvalidationReceiver(receiver);
    this.#listener ??= new Listener({ channel: this.#channel, sql: this.#sql, makeClient: this.#makeClient, timeout: this.#timeout, heartbeat: this.#heartbeat });
    const listener = this.#listener;
    const subscription = new PostgresSubscription(
      {
        clock: this.#clock,
        append: (origin, event) => this.#append(origin, event),
        forget: (s) => {
          listener.remove(s);
          // The last one gone: the listening connection goes too (a later subscribe makes a new one).
          if (listener.size === 0 && this.#listener === listener) {
            this.#listener = undefined;
            void listener.close();
          }
        },
      },
      receiver,
    );
    listener.add(subscription);
    return subscription;
  }

  /**
   * The revocations table read as a log, through the pool (bounded by
   * `queryTimeout`). Row ids are drawn at insert, not at commit, so a cursor
   * of ids alone could pass a row that commits later with a lower id. The
   * cursor is `<transaction>-<id>` instead, and a page holds only rows whose
   * transaction is below the oldest one still running (`pg_snapshot_xmin`):
   * nothing can appear there any more. A row is so served once every write
   * transaction that began before it has ended (at once, as a rule; a
   * long-running write transaction delays the log by its length).
   */
  async entriesAfter(after: string | undefined, limit: number): Promise<RevocationLogPage> {
    checkRevocationLogRead(after, limit, LOG_CURSOR);
    const from = after ?? '0-0';
    const [, xact, id] = LOG_CURSOR.exec(from)!;
    const rows = await boundedQuery(this.#db, 'log read', this.#timeout, { text: this.#sql.logPage, values: [xact, id, limit] });
    const now = this.#clock();
    const entries: RevocationLogPage['entries'] = [];
    let cursor = from;
    for (const row of rows as unknown as (RevocationRow & { xact: string })[]) {
      cursor = `${row.xact}-${row.id}`;
      const event = eventOfRow(row);
      if (event !== undefined && event.expiresAt > now) entries.push({ id: cursor, event });
    }
    return { entries, cursor, more: rows.length === limit };
  }

  /** Closes every subscription and the listening connection. The pool stays open. */
  async close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.close();
  }

  async #append(origin: string, input: InvalidationEvent): Promise<void> {
    // The same check every receiver applies: what they would skip is refused here, with a code.
    const event = parseInvalidationEvent(input);
    if (event === undefined) throw new SessionError('ERR_CLAIMS_INVALID', 'publish(): the invalidation event is malformed');
    const lifetime = event.expiresAt - this.#clock();
    // Already over: nobody needs it.
    if (!(lifetime > 0)) return;
    const keep = this.#retention ?? Math.ceil(lifetime);
    await boundedQuery(this.#db, 'publish', this.#timeout, {
      text: this.#sql.publish,
      values: [...rowValues(origin, event), keep, this.#channel, `${origin} ${JSON.stringify(event)}`],
    });
  }
}

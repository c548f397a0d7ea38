// Cluster mode on PostgreSQL (DATABASE_URL): the session store, the
// LISTEN/NOTIFY broadcaster with its catch-up log (@jwt-session/storage-postgres),
// chat history in a table, and @socket.io/postgres-adapter for chat and presence
// across nodes. Every node migrates at start (idempotent, under an advisory lock).
import { MemoryDpopReplayCache, MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate } from '@jwt-session/storage-postgres';
import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import { HISTORY_SIZE, type Backend, type ChatHistory, type ChatMessage } from './backend-types.js';

/** The demo's own tables (chat, the Socket.IO adapter's large payloads), beside the library's `jwt_session` schema. */
const DEMO_SCHEMA = 'jwt_session_demo';
const DEMO_TABLES = `
CREATE SCHEMA IF NOT EXISTS ${DEMO_SCHEMA};
CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.chat (id bigserial PRIMARY KEY, message jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT now(), payload bytea);`;

class PostgresHistory implements ChatHistory {
  constructor(readonly pool: pg.Pool) {}
  async add(message: ChatMessage): Promise<void> {
    await this.pool.query(
      `WITH ins AS (INSERT INTO ${DEMO_SCHEMA}.chat (message) VALUES ($1) RETURNING id)
       DELETE FROM ${DEMO_SCHEMA}.chat WHERE id <= (SELECT id FROM ins) - $2`,
      [JSON.stringify(message), HISTORY_SIZE],
    );
  }
  async recent(): Promise<ChatMessage[]> {
    const { rows } = await this.pool.query(`SELECT message FROM (SELECT id, message FROM ${DEMO_SCHEMA}.chat ORDER BY id DESC LIMIT $1) t ORDER BY id`, [HISTORY_SIZE]);
    return rows.map((row) => row.message as ChatMessage);
  }
}

/** The library's schema and the demo's tables, once, whichever node starts first (the others wait on the lock and find them). */
async function prepare(pool: pg.Pool): Promise<void> {
  await migrate(pool);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DEMO_SCHEMA]);
    await client.query(DEMO_TABLES);
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(true);
    throw error;
  }
}

export async function postgresBackend(databaseUrl: string, log: (line: string) => void): Promise<Backend> {
  const config = { connectionString: databaseUrl, connectionTimeoutMillis: 5000, application_name: 'jwt-session-demo' };
  const pool = new pg.Pool(config);
  let lastError = 0;
  const onError = (error: Error): void => {
    // pg reconnects on the next query; one line every 10 s is enough.
    if (Date.now() - lastError > 10_000) log(`postgres connection error: ${(error as { code?: string }).code ?? error.name}`);
    lastError = Date.now();
  };
  // An idle connection that loses its server is reported on the pool (pg ends the process when nobody listens);
  // a connection held out of the pool (the Socket.IO adapter keeps one for LISTEN) reports on itself, so every
  // connection the pool makes gets the listener too.
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  try {
    await prepare(pool);
  } catch {
    await pool.end().catch(() => undefined);
    // Not the URL: it may hold a password.
    throw new Error('could not connect to PostgreSQL or migrate its schema (check DATABASE_URL and that the server is running)');
  }
  const broadcaster = new PostgresInvalidationBroadcaster(pool, { listenClient: () => new pg.Client(config) });
  // storage-postgres has no replay cache: each node remembers the proofs it accepted (a proof replayed to
  // the other node is refused only with sticky sessions; the Redis backend's cache is cluster-wide).
  const dpopReplayCache = new MemoryDpopReplayCache();
  return {
    kind: 'postgres',
    refreshTokenStore: new PostgresRefreshTokenStore(pool),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    broadcaster,
    dpopReplayCache,
    history: new PostgresHistory(pool),
    socketAdapter: createAdapter(pool, { tableName: `${DEMO_SCHEMA}.socket_io_attachments`, errorHandler: (error) => onError(error) }),
    async close() {
      await broadcaster.close();
      await pool.end();
      dpopReplayCache.close();
    },
  };
}

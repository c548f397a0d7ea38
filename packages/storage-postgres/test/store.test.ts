import { SessionError } from '@jwt-session/session-core';
import { HOUR, T0, fakeHash, newRecord, rejectsWith } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate, migrationSql, schemaStats, schemaVersion } from '../src/index.js';
import { freshSchema, listenClient, makePool, makeStore, pgServer, teardown } from './helpers.js';
import { MIGRATIONS } from '../src/migrations/index.js';

// Every migration's version, and the newest: what migrate() applies to a new schema.
const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);
const LATEST_VERSION = Math.max(...ALL_VERSIONS);

const M = suite('schema and migrate()');

M('migrate() is idempotent, makes the schema it is told, and records its version', async () => {
  const pool = await makePool();
  const schema = `custom_${Date.now().toString(36)}`;
  assert.equal(await migrate(pool, { schema }), { applied: ALL_VERSIONS, version: LATEST_VERSION });
  assert.equal(await migrate(pool, { schema }), { applied: [], version: LATEST_VERSION });
  const { rows } = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
  assert.equal(rows.map((r) => r.table_name), ['device_history', 'insert_receipts', 'revocations', 'schema_migrations', 'session_upstreams', 'sessions']);
  const store = new PostgresRefreshTokenStore(pool, { schema });
  await store.insert(newRecord('alice'), { now: T0 });
  assert.is((await store.list('alice', T0)).length, 1);
});

M('nodes migrating at once apply each migration once', async () => {
  const pool = await makePool();
  const schema = `race_${Date.now().toString(36)}`;
  const results = await Promise.all([migrate(pool, { schema }), migrate(pool, { schema }), migrate(pool, { schema })]);
  assert.equal(results.map((r) => r.applied).flat(), ALL_VERSIONS);
});

M('the default schema is jwt_session; a pg.Client works as well as a pool', async () => {
  const pool = await makePool();
  const client = await pool.connect();
  try {
    assert.is((await migrate(client)).version, LATEST_VERSION);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM jwt_session.sessions`);
    assert.is(rows[0].n, 0);
  } finally {
    client.release();
  }
});

M('tables use real column types and indexes, no JSON blob where a column fits', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const { rows } = await pool.query(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name IN ('sessions', 'revocations')`, [schema]);
  const type = (table: string, column: string) => rows.find((r) => r.table_name === table && r.column_name === column)?.data_type;
  assert.is(type('sessions', 'expires_at'), 'timestamp with time zone');
  assert.is(type('sessions', 'generation'), 'integer');
  assert.is(type('sessions', 'claims'), 'jsonb');
  assert.is(type('revocations', 'id'), 'bigint');
  assert.is(type('revocations', 'session_ids'), 'ARRAY');
  const indexes = (await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`, [schema])).rows.map((r) => r.indexname);
  for (const name of ['sessions_subject_idx', 'sessions_deadline_idx', 'insert_receipts_expires_idx', 'revocations_xact_idx', 'revocations_keep_until_idx']) assert.ok(indexes.includes(name), name);
});

M('a bad schema name is refused at construction, naming the option', async () => {
  const pool = await makePool();
  for (const schema of ['Robert"; DROP TABLE x; --', 'UPPER', '', 'x'.repeat(41), 42]) {
    assert.throws(() => new PostgresRefreshTokenStore(pool, { schema: schema as string }), (e: unknown) => e instanceof SessionError && e.code === 'ERR_CONFIG_INVALID' && /options\.schema/.test(e.message));
    await rejectsWith(migrate(pool, { schema: schema as string }), 'ERR_CONFIG_INVALID');
  }
  assert.throws(() => new PostgresRefreshTokenStore(pool, { queryTimeout: 0 }), /queryTimeout/);
  assert.throws(() => new PostgresRefreshTokenStore(pool, { sweepBatch: 1.5 }), /sweepBatch/);
  assert.throws(() => new PostgresRefreshTokenStore(pool, { preparedStatements: 'yes' as unknown as boolean }), /preparedStatements/);
  assert.throws(() => new PostgresRefreshTokenStore({} as never), /pg\.Pool/);
});

M('migrationSql() gives the SQL for a DBA’s own tool', () => {
  const [first] = migrationSql({ schema: 'auth' });
  assert.is(first!.version, 1);
  assert.ok(first!.sql.includes('CREATE TABLE "auth".sessions'));
});

M('a store on a schema that was never migrated fails with ERR_STORAGE_UNAVAILABLE, SQLSTATE kept, no parameter in the error', async () => {
  const pool = await makePool();
  const store = new PostgresRefreshTokenStore(pool, { schema: 'never_migrated' });
  const rec = newRecord('alice');
  const error = await rejectsWith(store.insert(rec, { now: T0 }), 'ERR_STORAGE_UNAVAILABLE');
  const cause = error.cause as Error & { cause: Error & { code?: string } };
  assert.is(cause.name, 'PostgresQueryFailure');
  assert.is(cause.cause.code, '3F000');
  assert.not.ok(JSON.stringify({ m: error.message, c: cause.message, cc: cause.cause.message }).includes(rec.tokenHash));
});

M('schemaStats() counts live and dead sessions, subjects, receipts and revocations, and sizes each table on disk', async () => {
  const { store, pool, schema } = await makeStore();
  const now = Date.now();
  await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + HOUR }), { now });
  await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + HOUR }), { now });
  await store.insert(newRecord('bob', { createdAt: now, expiresAt: now + HOUR }), { now, maxSessionsPerSubject: 1 });
  await store.insert(newRecord('bob', { createdAt: now + 1, expiresAt: now + HOUR }), { now: now + 1, maxSessionsPerSubject: 1 });
  await store.insert(newRecord('carol', { createdAt: now - HOUR, expiresAt: now - 1000 }), { now: now - HOUR });
  const b = new PostgresInvalidationBroadcaster(pool, { schema, listenClient: listenClient((await pgServer()).url) });
  const sub = b.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  await sub.publish({ type: 'subject', subject: 'alice', at: now - 5000, expiresAt: now + 60_000 });
  await sub.publish({ type: 'subject', subject: 'bob', at: now - 1000, expiresAt: now + 60_000 });
  await sub.close();
  const stats = await schemaStats(pool, { schema });
  assert.is(stats.schema, schema);
  assert.is(stats.version, LATEST_VERSION);
  assert.equal(stats.sessions, { live: 3, dead: 1 });
  assert.is(stats.subjects, 2);
  assert.is(stats.receipts, 1);
  assert.is(stats.revocations.rows, 2);
  assert.is(stats.revocations.channel, b.channel);
  assert.ok(stats.revocations.oldestAgeMs! >= 5000 && stats.revocations.oldestAgeMs! < 60_000, String(stats.revocations.oldestAgeMs));
  assert.ok(stats.revocations.newestAgeMs! >= 1000 && stats.revocations.newestAgeMs! < stats.revocations.oldestAgeMs!, String(stats.revocations.newestAgeMs));
  // Each table with its indexes: at least a page per relation (8 kB), and the total is their sum.
  for (const table of ['sessions', 'receipts', 'revocations'] as const) assert.ok(stats.bytes[table] >= 8192, `${table}: ${stats.bytes[table]}`);
  assert.is(stats.bytes.total, stats.bytes.sessions + stats.bytes.receipts + stats.bytes.revocations);
  const empty = await schemaStats(pool, { schema: await freshSchema(pool) });
  assert.equal([empty.sessions, empty.subjects, empty.receipts, empty.revocations.rows, empty.revocations.oldestAgeMs], [{ live: 0, dead: 0 }, 0, 0, 0, null]);
});

M('schemaVersion() is 0 for a schema never migrated; schemaStats() refuses it with ERR_CONFIG_INVALID naming it', async () => {
  const pool = await makePool();
  assert.is(await schemaVersion(pool, { schema: 'nowhere_at_all' }), 0);
  assert.is(await schemaVersion(pool, { schema: await freshSchema(pool) }), LATEST_VERSION);
  const error = await rejectsWith(schemaStats(pool, { schema: 'nowhere_at_all' }), 'ERR_CONFIG_INVALID');
  assert.match(error.message, /schema "nowhere_at_all" holds no jwt-session tables/);
  await rejectsWith(schemaStats(pool, { schema: 'Bad"Name' }), 'ERR_CONFIG_INVALID');
});

M.after(async () => undefined);
M.run();

const U = suite('text PostgreSQL cannot hold (U+0000) and the rest of Unicode');

U('subjects, claims and context names and values with U+0000 and U+0001 read back exactly and stay apart', async () => {
  const { store, pool, schema } = await makeStore();
  const subjects = ['a\0b', 'a\x01\x02b', 'a\x01b', 'a\\u0000b', 'ü😀\0'];
  const claims = { 'k\0': 'v\0\x01', nested: ['\0', { '\x01': '\\u0000' }], plain: 'x' };
  const context = { ip: '192.0.2.1', 'name\0': 'value\0' };
  const recs = subjects.map((subject) => newRecord(subject, { claims, context }));
  for (const rec of recs) await store.insert(rec, { now: T0 });
  for (const [n, subject] of subjects.entries()) {
    const [got] = await store.list(subject, T0);
    assert.is(got?.sessionId, recs[n]!.sessionId, JSON.stringify(subject));
    assert.is(got!.subject, subject);
    assert.equal(got!.claims, claims);
    assert.equal(got!.context, context);
  }
  // A rotation merges the context name by name, with U+0000 in the names.
  const rotated = await store.rotate({
    sessionId: recs[0]!.sessionId,
    presentedHash: recs[0]!.tokenHash,
    successorHash: fakeHash(),
    now: T0 + 1,
    reuseInterval: 0,
    context: { 'name\0': 'changed\0', 'new\0': '\0' },
  });
  assert.is(rotated.status, 'rotated');
  if (rotated.status === 'rotated') assert.equal(rotated.session.context, { ip: '192.0.2.1', 'name\0': 'changed\0', 'new\0': '\0' });
  assert.equal((await store.deleteAll('a\0b', T0 + 2)).sessionIds, [recs[0]!.sessionId]);
  assert.is((await store.list('a\x01\x02b', T0 + 2)).length, 1, 'deleteAll of a\\0b touched a\\x01\\x02b');
  // Stored as text, not bytes: ordinary subjects are readable in the table as they are.
  const { rows } = await pool.query(`SELECT subject FROM "${schema}".sessions WHERE subject = 'ü😀\x01\x02'`);
  assert.is(rows.length, 1);
});

U.run();

const W = suite('the sweep of dead rows');

W('each insert removes a bounded batch of dead rows; sweep() removes the rest; live ones stay', async () => {
  const { store } = await makeStore({ sweepBatch: 2 });
  const now = Date.now();
  for (let n = 0; n < 5; n++) await store.insert(newRecord(`dead-${n}`, { createdAt: now - HOUR, expiresAt: now - 1000 }), { now: now - HOUR });
  await store.insert(newRecord('live', { createdAt: now, expiresAt: now + HOUR }), { now });
  assert.equal(await store.count(), { sessions: 4, receipts: 0 }, 'one insert swept more or less than its batch');
  assert.is(await store.sweep(now), 3);
  assert.equal(await store.count(), { sessions: 1, receipts: 0 });
  assert.is(await store.sweep(now), 0);
  await rejectsWith(store.sweep(now, 0), 'ERR_CONFIG_INVALID');
});

// Issue 22: a subject who stops signing in leaves no device history behind.
W('sweep() removes device histories past their ttl, and only those', async () => {
  const { store, pool, schema } = await makeStore();
  const now = Date.now();
  assert.is(await store.rememberDevice('gone', 'device-fingerprint-001', { now: now - HOUR, ttl: 1000, max: 5 }), 'first');
  assert.is(await store.rememberDevice('kept', 'device-fingerprint-001', { now, ttl: HOUR, max: 5 }), 'first');
  assert.is(await store.sweep(now), 1);
  const { rows } = await pool.query(`SELECT subject FROM "${schema}".device_history ORDER BY 1`);
  assert.equal(rows.map((r) => r.subject), ['kept']);
});

W('a node whose clock runs ahead does not sweep what the database’s clock still holds live', async () => {
  const { store } = await makeStore();
  const now = Date.now();
  await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + HOUR }), { now });
  assert.is(await store.sweep(now + 2 * HOUR), 0);
  assert.is((await store.count()).sessions, 1);
});

W('the sweep goes through the deadline index, never a full scan', async () => {
  const { pool, schema } = await makeStore();
  await pool.query(`INSERT INTO "${schema}".sessions (session_id, subject, token_hash, created_at, last_refreshed_at, rotated_at, expires_at, claims, context)
    SELECT 'id' || n, 's' || n, 'h', now(), now(), now(), now() + interval '1 hour', '{}', '{}' FROM generate_series(1, 20000) n`);
  await pool.query(`ANALYZE "${schema}".sessions`);
  const { rows } = await pool.query(`EXPLAIN SELECT session_id FROM "${schema}".sessions WHERE deadline <= LEAST(now(), now()) ORDER BY deadline LIMIT 8 FOR UPDATE SKIP LOCKED`);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  assert.ok(plan.includes('sessions_deadline_idx'), plan);
  assert.not.ok(plan.includes('Seq Scan'), plan);
});

W('works without named statements (PgBouncer in transaction mode before 1.21)', async () => {
  const { pool, schema } = await makeStore();
  const store = new PostgresRefreshTokenStore(pool, { schema, preparedStatements: false });
  const rec = newRecord('alice');
  await store.insert(rec, { now: T0 });
  assert.is((await store.rotate({ sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: fakeHash(), now: T0 + 1, reuseInterval: 0 })).status, 'rotated');
  assert.is(await store.delete('alice', rec.sessionId, T0 + 2), true);
});

W('only hashes are stored: the token hash is the only secret-derived column', async () => {
  const { store, pool, schema } = await makeStore();
  const rec = newRecord('alice');
  await store.insert(rec, { now: T0 });
  const { rows } = await pool.query(`SELECT token_hash, previous_token_hash FROM "${schema}".sessions`);
  assert.equal(rows, [{ token_hash: rec.tokenHash, previous_token_hash: null }]);
});

W.after(teardown);
W.run();

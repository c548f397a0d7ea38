import { startPgBouncer, type PgBouncer } from '@jwt-session/pg-harness';
import { SessionError } from '@jwt-session/session-core';
import { testInvalidationBroadcaster, testManagerOverStorage, testRefreshTokenStore } from '@jwt-session/session-core/testing';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresRefreshTokenStore } from '../src/index.js';
import { LISTEN_APP, codeOf, eventually, freshSchema, makeBroadcaster, makeNode, makePool, managerFixture, pgServer, storeFixture, teardown } from './helpers.js';

/*
 * The README's PgBouncer setup, for real: a pgbouncer 1.18 in transaction
 * mode (no prepared-statement support in that mode) in front of the file's
 * PostgreSQL. Every pool below connects to the bouncer and the store runs
 * with `preparedStatements: false`; the broadcaster's LISTEN connection is
 * the only one that goes straight to the server. session-core's conformance
 * suites run unchanged over that setup, then two nodes revoke across it.
 */
let bouncer: Promise<PgBouncer> | undefined;
const extra: PgBouncer[] = [];

async function pgBouncer(): Promise<PgBouncer> {
  return (bouncer ??= pgServer().then((target) => startPgBouncer({ target, poolMode: 'transaction' })));
}

/** A pool whose every query goes through the bouncer. */
async function bouncerPool(b?: PgBouncer): Promise<pg.Pool> {
  return makePool({ connectionString: (b ?? (await pgBouncer())).url });
}

/** Rows of an admin console command (SHOW …; simple protocol only). */
async function admin(b: PgBouncer, command: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client(b.adminUrl);
  await client.connect();
  try {
    return (await client.query(command)).rows;
  } finally {
    await client.end();
  }
}

testRefreshTokenStore('postgres through pgbouncer (transaction mode)', async () => storeFixture({ preparedStatements: false }, { connectionString: (await pgBouncer()).url }));

testManagerOverStorage('postgres through pgbouncer (transaction mode)', async () => managerFixture({ preparedStatements: false }, { connectionString: (await pgBouncer()).url }));

testInvalidationBroadcaster('postgres, publishing through pgbouncer (transaction mode)', async () => {
  const pool = await bouncerPool();
  const broadcaster = await makeBroadcaster(await freshSchema(pool, 'bcast'), {}, { connectionString: (await pgBouncer()).url });
  return { broadcaster, close: () => broadcaster.close() };
}, { revocationLog: true });

const S = suite('behind pgbouncer in transaction mode');

S('the bouncer really pools by transaction', async () => {
  const b = await pgBouncer();
  const config = await admin(b, 'SHOW CONFIG');
  assert.is(config.find((row) => row.key === 'pool_mode')?.value, 'transaction');
});

S('two nodes, both pools through the bouncer: deleteOne on A is rejected on B', async () => {
  const b = await pgBouncer();
  const schema = await freshSchema(await bouncerPool(), 'pgb');
  const options = { poolUrl: b.url, preparedStatements: false, queryTimeout: 2000 };
  const [nodeA, nodeB] = [await makeNode(schema, options), await makeNode(schema, options)];
  await Promise.all([nodeA.manager.ready(), nodeB.manager.ready()]);
  const keep = await nodeA.manager.create('alice');
  const gone = await nodeA.manager.create('alice');
  assert.is((await nodeB.manager.read(gone.accessToken)).sid, gone.sessionId);
  await nodeA.manager.deleteOne('alice', gone.sessionId);
  const took = await eventually(async () => (await codeOf(nodeB.manager.read(gone.accessToken))) === 'ERR_SESSION_REVOKED', 'B rejects the deleted session');
  console.log(`  revocation A -> B with both pools through pgbouncer: ${took} ms`);
  assert.is(await codeOf(nodeB.manager.update(gone.refreshToken)), 'ERR_REFRESH_TOKEN_INVALID');
  // The other session still works on both nodes, and rotates through the bouncer.
  assert.is((await nodeB.manager.read(keep.accessToken)).sid, keep.sessionId);
  const rotated = await nodeB.manager.update(keep.refreshToken);
  assert.is((await nodeA.manager.read(rotated.accessToken)).sid, keep.sessionId);
});

S('LISTEN is not sent through the bouncer: each listening connection is a direct one', async () => {
  const b = await pgBouncer();
  const schema = await freshSchema(await bouncerPool(), 'pgb');
  const node = await makeNode(schema, { poolUrl: b.url, preparedStatements: false });
  await node.manager.ready();
  await node.manager.create('bob'); // the pool has used the bouncer
  const direct = await makePool();
  const listening = (await direct.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [LISTEN_APP])).rows.map((row) => Number(row.pid));
  assert.ok(listening.length >= 1, 'a listening connection is open');
  const throughBouncer = new Set((await admin(b, 'SHOW SERVERS')).map((row) => Number(row.remote_pid)));
  assert.ok(throughBouncer.size >= 1, 'the pool has server connections through the bouncer');
  for (const pid of listening) assert.not.ok(throughBouncer.has(pid), `listening backend ${pid} is one of the bouncer's server connections`);
  assert.not.ok(
    (await admin(b, 'SHOW CLIENTS')).some((row) => row.application_name === LISTEN_APP),
    'no listening client is connected to the bouncer',
  );
});

S('why preparedStatements: false — named statements break in transaction mode, unnamed ones do not', async () => {
  // A bouncer of its own, so the server connections it holds are known: one, then a second.
  const b = await startPgBouncer({ target: await pgServer(), poolMode: 'transaction', poolSize: 2 });
  extra.push(b);
  const pool = await bouncerPool(b);
  const schema = await freshSchema(pool, 'pgb'); // leaves one idle server connection
  const holder = new pg.Client(b.url);
  await holder.connect();
  try {
    // The store's client parses its named statement on the idle server connection…
    const own = new pg.Pool({ connectionString: b.url, max: 1 });
    own.on('error', () => undefined);
    try {
      const named = new PostgresRefreshTokenStore(own, { schema, preparedStatements: true });
      await named.count();
      // …which a transaction elsewhere then holds, so the bouncer gives the store's next statement a new one.
      await holder.query('BEGIN');
      await holder.query('SELECT 1');
      const error = await named.count().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(error, SessionError);
      assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
      // The driver's error, reduced to its message and SQLSTATE, under the store's PostgresQueryFailure.
      const driver = ((error as Error).cause as Error | undefined)?.cause as { code?: string; message?: string } | undefined;
      assert.is(driver?.code, '26000', `prepared statement does not exist, got ${driver?.message}`);
      // The same sequence with unnamed statements works: nothing is kept on a server connection.
      const unnamed = new PostgresRefreshTokenStore(own, { schema, preparedStatements: false });
      await holder.query('COMMIT');
      await unnamed.count();
      await holder.query('BEGIN');
      await holder.query('SELECT 1');
      assert.is((await unnamed.count()).sessions, 0);
      await holder.query('COMMIT');
    } finally {
      await own.end();
    }
  } finally {
    await holder.end();
  }
});

S.after(async () => {
  await teardown();
  for (const b of [...extra.splice(0), ...(bouncer === undefined ? [] : [await bouncer])]) await b.stop();
  bouncer = undefined;
});
S.run();

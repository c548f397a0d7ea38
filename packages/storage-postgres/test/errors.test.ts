import { randomBytes } from 'node:crypto';
import type { InvalidationReceiver } from '@jwt-session/session-core';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate } from '../src/index.js';
import { caught, closeLater, eventually, freshSchema, listenClient, makeBroadcaster, makePool, pgServer, sleep, teardown } from './helpers.js';
import { MIGRATIONS } from '../src/migrations/index.js';

// Every migration's version, and the newest: what migrate() applies to a new schema.
const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);
const LATEST_VERSION = Math.max(...ALL_VERSIONS);

/*
 * node-postgres reports a lost connection as an 'error' event on the client
 * (and, for an idle pooled client, on its pool); an 'error' event with no
 * listener ends the process. These tests guard every connection the package
 * holds: none may crash the app, and a pool the app hands over without a
 * listener is warned about.
 */
const E = suite('connection errors never crash the app');

const counting = (): InvalidationReceiver & { count: number } => ({
  count: 0,
  restrictOne() {
    this.count++;
  },
  restrictAll() {
    this.count++;
  },
});

// Guards migrate(): the client it checks out of the pool had no 'error' listener, and a connection lost mid-migration ended the process.
E('migrate() whose connection is cut mid-transaction rejects; nothing crashes, and a later migrate() succeeds', async () => {
  const pool = await makePool();
  const schema = `cut_${randomBytes(4).toString('hex')}`;
  // Another session holds the migration lock, so migrate() waits in its transaction until its connection is cut.
  const holder = await pool.connect();
  holder.on('error', () => undefined);
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`jwt-session migrate ${schema}`]);
    const crashes = await caught('uncaughtException', async () => {
      const outcome = migrate(pool, { schema }).then(
        () => 'migrated',
        (error: Error) => error.message,
      );
      let pid: number | undefined;
      await eventually(async () => {
        pid = (await pool.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`)).rows[0]?.pid;
        return pid !== undefined;
      }, 'migrate() waiting for the lock');
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      assert.match(await outcome, /terminat/i);
      // The lost connection's own 'error' comes after the failed query.
      await sleep(200);
    });
    assert.equal(crashes.map((e) => e.message), []);
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
  assert.equal(await migrate(pool, { schema }), { applied: ALL_VERSIONS, version: LATEST_VERSION });
});

// Guards the listening connection's loop: a factory that threw was an unhandled rejection.
E('a listenClient factory that throws is tried again; the subscription becomes ready and receives', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const url = (await pgServer()).url;
  let calls = 0;
  const flaky = () => {
    if (++calls <= 2) throw new Error('no connection slot for you');
    return listenClient(url)();
  };
  const crashes = await caught('uncaughtException', async () => {
    const b = closeLater(new PostgresInvalidationBroadcaster(pool, { schema, listenClient: flaky }));
    const r = counting();
    const sub = b.subscribe(r);
    let ready = false;
    void sub.ready().then(() => (ready = true));
    await eventually(() => ready, 'the subscription ready after the factory recovered', 10_000);
    const sender = (await makeBroadcaster(schema)).subscribe(counting());
    await sender.ready();
    await sender.publish({ type: 'subject', subject: 'alice', at: Date.now(), expiresAt: Date.now() + 60_000 });
    await eventually(() => r.count === 1, 'the event received');
    await Promise.all([sub.close(), sender.close()]);
  });
  assert.equal(crashes.map((e) => e.message), []);
  assert.ok(calls >= 3, `the factory was called ${calls} times`);
});

// Guards the warning: pg ends the process on an idle connection's error when the pool has no listener.
E('a pool without an "error" listener is warned about once, whatever is given it; a pool with one is not', async () => {
  const url = (await pgServer()).url;
  const bare = new pg.Pool({ connectionString: url });
  const heard = new pg.Pool({ connectionString: url });
  heard.on('error', () => undefined);
  const warnings = await caught('warning', async () => {
    new PostgresRefreshTokenStore(bare);
    new PostgresRefreshTokenStore(bare);
    new PostgresInvalidationBroadcaster(bare, { listenClient: listenClient(url) });
    new PostgresRefreshTokenStore(heard);
    new PostgresInvalidationBroadcaster(heard, { listenClient: listenClient(url) });
    // Not a pool at all (no listenerCount): nothing to say.
    new PostgresRefreshTokenStore({ query: bare.query.bind(bare) });
    await sleep(20);
  });
  const ours = warnings.filter((w) => (w as { code?: string }).code === 'JWT_SESSION_PG_NO_ERROR_LISTENER');
  assert.is(ours.length, 1);
  assert.match(ours[0]!.message, /PostgresRefreshTokenStore has no "error" listener/);
  await Promise.all([bare.end(), heard.end()]);
});

E.after(teardown);
E.run();

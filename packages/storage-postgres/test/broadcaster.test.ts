import type { InvalidationReceiver, SessionInvalidation, SubjectInvalidation } from '@jwt-session/session-core';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresInvalidationBroadcaster } from '../src/index.js';
import { NOTIFY_INLINE_LIMIT, broadcastStatements } from '../src/sql.js';
import { closeLater, cutListeners, eventually, freshSchema, listenClient, makeBroadcaster, makePool, pgServer, sleep, steeredListenClient, teardown } from './helpers.js';

class Recorder implements InvalidationReceiver {
  readonly events: (SessionInvalidation | SubjectInvalidation)[] = [];
  restrictOne(event: SessionInvalidation): void {
    this.events.push(event);
  }
  restrictAll(event: SubjectInvalidation): void {
    this.events.push(event);
  }
}

const ID = (n: number) => `AAAA${String(n).padStart(22, '0')}`;
const one = (n: number, lifetime = 60_000): SessionInvalidation => ({ type: 'session', subject: 'alice', sessionId: ID(n), reason: 'deleted', at: Date.now(), expiresAt: Date.now() + lifetime });
/** A subject invalidation of more than 8000 bytes: too large for a notification. */
const big = (): SubjectInvalidation => ({ type: 'subject', subject: 'bob', at: Date.now(), expiresAt: Date.now() + 60_000, sessionIds: Array.from({ length: 400 }, (_, n) => ID(n)) });

/** A fresh schema, the server's URL, a publishing subscription on a broadcaster of its own, and the schema's statements. */
async function withSender() {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const url = (await pgServer()).url;
  const sender = (await makeBroadcaster(schema)).subscribe(new Recorder());
  return { pool, schema, url, sender, sql: broadcastStatements(`"${schema}"`, schema) };
}

/**
 * A publisher's transaction that takes an id (a revocation of `sessionId`) and stays open until `commit()`;
 * `release()` (for `finally`) drops it if it was never committed.
 */
async function openInsert(pool: pg.Pool, schema: string, sessionId: string): Promise<{ commit(): Promise<void>; release(): void }> {
  const slow = await pool.connect();
  // Checked out, a client has no listener of the pool's: one of the test's own, and released whatever happens.
  slow.on('error', () => undefined);
  let released = false;
  try {
    await slow.query('BEGIN');
    const now = Date.now();
    await slow.query(
      `INSERT INTO "${schema}".revocations (origin, kind, subject, session_id, reason, at, expires_at, keep_until) VALUES ('elsewhere', 'session', 'alice', $1, 'deleted', to_timestamp($2::float8 / 1000), to_timestamp($3::float8 / 1000), now() + interval '1 minute')`,
      [sessionId, now, now + 60_000],
    );
  } catch (error) {
    slow.release(true);
    throw error;
  }
  return {
    async commit() {
      await slow.query('COMMIT');
      slow.release();
      released = true;
    },
    release() {
      if (!released) slow.release(true);
      released = true;
    },
  };
}

const S = suite('postgres broadcaster');

S('an event too large for NOTIFY (8000 bytes) travels as its id and is read from the table', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema);
  // A client of the test's own: it listens for its errors (a server restart later in this file must not crash the run) and is ended whatever happens.
  const raw = new pg.Client((await pgServer()).url);
  raw.on('error', () => undefined);
  try {
    await raw.connect();
    const payloads: string[] = [];
    raw.on('notification', (m) => payloads.push(m.payload ?? ''));
    await raw.query(`LISTEN "${b.channel}"`);
    const [sender, receiver] = [b.subscribe(new Recorder()), new Recorder()];
    const sub = b.subscribe(receiver);
    await Promise.all([sender.ready(), sub.ready()]);
    const small = one(1);
    assert.ok(JSON.stringify(big()).length > 8000);
    const large = big();
    await sender.publish(large);
    await sender.publish(small);
    await eventually(() => receiver.events.length === 2, 'both events');
    assert.equal(receiver.events, [large, small]);
    await eventually(() => payloads.length === 2, 'both notifications');
    assert.ok(/^\d+$/.test(payloads[0]!), 'the large event was sent inline');
    assert.ok(payloads[1]!.length <= NOTIFY_INLINE_LIMIT + 20 && payloads[1]!.includes(ID(1)), 'the small event was not sent inline');
    await Promise.all([sender.close(), sub.close()]);
  } finally {
    await raw.end();
  }
});

// Guards the delivery order: the read of a too-large event used to let the notifications after it overtake it.
S('an event too large for NOTIFY is applied before the events after it, however long its read takes', async () => {
  const { pool, schema, url, sender, sql } = await withSender();
  const { byId } = sql;
  const slowReads = steeredListenClient(url, { afterQuery: (text) => (text === byId ? sleep(400) : Promise.resolve()) });
  const b = closeLater(new PostgresInvalidationBroadcaster(pool, { schema, queryTimeout: 3000, listenClient: slowReads }));
  const r = new Recorder();
  const sub = b.subscribe(r);
  await Promise.all([sender.ready(), sub.ready()]);
  const large = big();
  await sender.publish(large);
  await sender.publish(one(1));
  await eventually(() => r.events.length === 2, 'both events');
  assert.equal(r.events.map((e) => e.type), ['subject', 'session']);
  await Promise.all([sender.close(), sub.close()]);
});

// Guards the delivery order: a notification that came while the catch-up read was out used to be applied before what that read returned.
S('an event notified while the catch-up read is out is applied after the events that read returns', async () => {
  const { pool, schema, url, sender, sql } = await withSender();
  const { catchUp } = sql;
  let connects = 0;
  let gate = Promise.resolve();
  let answered!: () => void;
  const catchUpAnswered = new Promise<void>((resolve) => (answered = resolve));
  const steered = steeredListenClient(url, {
    beforeConnect: () => (++connects === 1 ? Promise.resolve() : gate),
    afterQuery: async (text) => {
      if (connects < 2 || text !== catchUp) return;
      answered();
      await sleep(500);
    },
  });
  const b = closeLater(new PostgresInvalidationBroadcaster(pool, { schema, queryTimeout: 3000, listenClient: steered }));
  const r = new Recorder();
  const sub = b.subscribe(r);
  await Promise.all([sender.ready(), sub.ready()]);
  await sender.publish(one(1));
  await eventually(() => r.events.length === 1, 'the first event');
  // The node loses its connection; its next one waits at the gate, so event 2 reaches it only through the catch-up read.
  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  assert.ok((await cutListeners(pool)) >= 1, 'no listening connection was cut');
  await eventually(() => connects === 2, 'the node reconnecting');
  await sender.publish(one(2));
  open();
  // Event 3 is published after the catch-up read answered and before that answer is handed over: it comes as a notification.
  await catchUpAnswered;
  await sender.publish(one(3));
  await eventually(() => r.events.length === 3, 'events 2 and 3');
  assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1), ID(2), ID(3)]);
  await Promise.all([sender.close(), sub.close()]);
});

S('a listening connection that is cut catches up on what was published meanwhile', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema, { heartbeatInterval: 100 });
  const sender = b.subscribe(new Recorder());
  const r = new Recorder();
  const sub = b.subscribe(r);
  await Promise.all([sender.ready(), sub.ready()]);
  await sender.publish(one(1));
  await eventually(() => r.events.length === 1, 'the first event');
  // Cut every LISTEN connection of this server, then publish while they are gone.
  assert.ok((await cutListeners(pool)) >= 1, 'no listening connection was cut');
  await sender.publish(one(2));
  await sender.publish(one(3));
  await eventually(() => r.events.length === 3, 'the events published while cut');
  assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1), ID(2), ID(3)]);
  await Promise.all([sender.close(), sub.close()]);
});

// Guards the catch-up design: ids are drawn at insert, not at commit, so "from the last id seen" misses a row with a lower id that commits later.
S('a row that commits after a higher id was seen, while the node is disconnected, is still caught up', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema, { heartbeatInterval: 100 });
  const sender = b.subscribe(new Recorder());
  const r = new Recorder();
  const sub = b.subscribe(r);
  await Promise.all([sender.ready(), sub.ready()]);
  // A publisher's transaction takes an id and stays open.
  const slow = await openInsert(pool, schema, ID(7));
  try {
    // A later id is published and seen, and the node reconnects (and catches up) while the early one is still open.
    await sender.publish(one(8));
    await eventually(() => r.events.length === 1, 'the later id');
    assert.ok((await cutListeners(pool)) >= 1, 'no listening connection was cut');
    await sender.publish(one(9));
    await eventually(() => r.events.length === 2, 'an id after the first reconnect');
    await sleep(200);
    // The node loses its connection again; the early id commits (its notification goes to no one of ours).
    assert.ok((await cutListeners(pool)) >= 1, 'no listening connection was cut');
    await slow.commit();
    await eventually(() => r.events.length === 3, 'the early id after the second reconnect');
    assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(8), ID(9), ID(7)]);
    await Promise.all([sender.close(), sub.close()]);
  } finally {
    slow.release();
  }
});

S('entriesAfter serves no row past a transaction still open, then the early row and the later one in commit-safe order', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema);
  const sender = b.subscribe(new Recorder());
  await sender.ready();
  await sender.publish(one(20));
  const first = await b.entriesAfter(undefined, 10);
  assert.equal(first.entries.map((e) => (e.event as SessionInvalidation).sessionId), [ID(20)]);
  // An early id in a transaction left open, then a later id published (and committed) beside it.
  const slow = await openInsert(pool, schema, ID(21));
  try {
    await sender.publish(one(22));
    // Served now, the later id would move a reader's cursor past the early one, which would then never be served.
    const held = await b.entriesAfter(first.cursor, 10);
    assert.equal(held.entries, [], 'a row was served while an older transaction is still open');
    assert.is(held.cursor, first.cursor);
    await slow.commit();
    const after = await b.entriesAfter(held.cursor, 10);
    assert.equal(after.entries.map((e) => (e.event as SessionInvalidation).sessionId), [ID(21), ID(22)]);
    await sender.close();
  } finally {
    slow.release();
  }
});

S('rows are kept for their event’s lifetime on the database clock, then trimmed as others are published', async () => {
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema);
  const sender = b.subscribe(new Recorder());
  await sender.ready();
  await sender.publish(one(1, 200));
  await sender.publish(one(2, 60_000));
  await sleep(300);
  await sender.publish(one(3, 60_000));
  const { rows } = await pool.query(`SELECT session_id FROM "${schema}".revocations ORDER BY id`);
  assert.equal(rows.map((row) => row.session_id), [ID(2), ID(3)]);
  // An event already over is not written at all.
  await sender.publish(one(4, -1));
  assert.is((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".revocations`)).rows[0].n, 2);
  await sender.close();
});

S('a node started after a database restart is replayed what is still in force', async () => {
  const server = await pgServer();
  const pool = await makePool();
  const schema = await freshSchema(pool);
  const b = await makeBroadcaster(schema);
  const sender = b.subscribe(new Recorder());
  await sender.ready();
  await sender.publish(one(1));
  await sender.close();
  await server.restart();
  const late = new Recorder();
  const b2 = await makeBroadcaster(schema);
  const sub = b2.subscribe(late);
  await sub.ready();
  assert.equal(late.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1)]);
  await sub.close();
});

S('options are checked at construction, naming the option', async () => {
  const pool = await makePool();
  const url = (await pgServer()).url;
  assert.throws(() => new PostgresInvalidationBroadcaster(pool, {} as never), /listenClient/);
  assert.throws(() => new PostgresInvalidationBroadcaster(pool, { listenClient: listenClient(url), heartbeatInterval: -1 }), /heartbeatInterval/);
  assert.throws(() => new PostgresInvalidationBroadcaster(pool, { listenClient: listenClient(url), retention: 0 }), /retention/);
  assert.throws(() => new PostgresInvalidationBroadcaster(pool, { listenClient: listenClient(url), clock: 5 as never }), /clock/);
  assert.throws(() => new PostgresInvalidationBroadcaster(null as never, { listenClient: listenClient(url) }), /pg\.Pool/);
});

S.after(teardown);
S.run();

import type { InvalidationEvent, InvalidationReceiver, SessionInvalidation, SubjectInvalidation } from '@jwt-session/session-core';
import { SessionError } from '@jwt-session/session-core';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster } from '../src/index.js';
import { closeLater, clusterClient, ioredisMajors, keysUnder, nodeFor, sleep, standaloneClient, assertTornDown, teardown, track, uniquePrefix } from './helpers.js';

const make = (...args: ConstructorParameters<typeof RedisInvalidationBroadcaster>) => closeLater(new RedisInvalidationBroadcaster(...args));

class Recorder implements InvalidationReceiver {
  readonly events: InvalidationEvent[] = [];
  restrictOne(event: SessionInvalidation): void {
    this.events.push(event);
  }
  restrictAll(event: SubjectInvalidation): void {
    this.events.push(event);
  }
}

const session = (sessionId: string, ttl = 60_000): SessionInvalidation => ({
  type: 'session',
  subject: 'alice',
  sessionId,
  reason: 'deleted',
  at: Date.now(),
  expiresAt: Date.now() + ttl,
});
const subject = (name: string, ttl = 60_000): SubjectInvalidation => ({ type: 'subject', subject: name, at: Date.now(), expiresAt: Date.now() + ttl });

async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function readerIds(client: Redis, name: string): Promise<string[]> {
  const list = (await client.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
}

for (const io of ioredisMajors) for (const [kind, connect] of [
  ['standalone', standaloneClient],
  ['cluster', clusterClient],
] as const) {
  const S = suite(`RedisInvalidationBroadcaster (${kind}, ${io.name})`);

  S('delivers every other subscriber’s events, never its own', async () => {
    const client = await connect(io);
    const b = make(client, { keyPrefix: uniquePrefix('bc') });
    const [ra, rb, rc] = [new Recorder(), new Recorder(), new Recorder()];
    const [sa, sb, sc] = [b.subscribe(ra), b.subscribe(rb), b.subscribe(rc)];
    await Promise.all([sa.ready(), sb.ready(), sc.ready()]);
    const e1 = session('s1');
    const e2 = subject('bob');
    await sa.publish(e1);
    await sb.publish(e2);
    await until(() => rc.events.length === 2 && ra.events.length === 1 && rb.events.length === 1, 'delivery');
    await sleep(50);
    assert.equal(ra.events, [e2]);
    assert.equal(rb.events, [e1]);
    assert.equal(rc.events, [e1, e2]);
    await b.close();
    assert.is(client.status, 'ready', 'the caller’s client was closed');
  });

  S('a late subscriber replays the entries still in force before ready() resolves', async () => {
    const client = await connect(io);
    const now = Date.now();
    let clock = now;
    const b = make(client, { keyPrefix: uniquePrefix('bc'), clock: () => clock });
    const early = b.subscribe(new Recorder());
    await early.ready();
    const events = Array.from({ length: 1200 }, (_, i) => session(`s${i}`));
    const short = session('short', 1000);
    await early.publish(short);
    for (const e of events) await early.publish(e);
    clock = now + 5000;
    const late = new Recorder();
    const sub = b.subscribe(late);
    await sub.ready();
    // 1,200 entries: more than one batch; the expired one is not delivered.
    assert.is(late.events.length, events.length);
    assert.equal(late.events[0], events[0]);
    assert.equal(late.events.at(-1), events.at(-1));
    await b.close();
  });

  S('malformed entries are skipped and the entries behind them still arrive', async () => {
    const client = await connect(io);
    const b = make(client, { keyPrefix: uniquePrefix('bc') });
    const r = new Recorder();
    const sub = b.subscribe(r);
    await sub.ready();
    const stream = b.streamKey;
    const good = session('good');
    const bad: string[][] = [
      ['x', '1'],
      ['o', 'someone', 'e', '{not json'],
      ['o', 'someone', 'e', 'null'],
      ['o', 'someone', 'e', '"a string"'],
      ['o', 'someone', 'e', JSON.stringify({ ...good, type: 'other' })],
      ['o', 'someone', 'e', JSON.stringify({ ...good, reason: 'bored' })],
      ['o', 'someone', 'e', JSON.stringify({ ...good, at: 'yesterday' })],
      ['o', 'someone', 'e', JSON.stringify({ ...good, subject: '' })],
      ['o', 'someone', 'e', JSON.stringify({ type: 'session', subject: 'a', at: 1, expiresAt: Date.now() + 9e6 })],
    ];
    for (const fields of bad) await client.xadd(stream, '*', ...fields);
    await client.xadd(stream, '*', 'o', 'someone', 'e', JSON.stringify({ ...good, extra: 'dropped' }));
    await until(() => r.events.length === 1, 'the valid entry');
    assert.equal(r.events, [good]);
    await b.close();
  });

  S('a receiver that throws does not stop the stream', async () => {
    const client = await connect(io);
    const b = make(client, { keyPrefix: uniquePrefix('bc') });
    const got: string[] = [];
    const sub = b.subscribe({
      restrictOne: (e) => {
        got.push(e.sessionId);
        throw new Error('receiver bug');
      },
      restrictAll: () => undefined,
    });
    const pub = b.subscribe(new Recorder());
    await Promise.all([sub.ready(), pub.ready()]);
    await pub.publish(session('one'));
    await pub.publish(session('two'));
    await until(() => got.length === 2, 'both events');
    await b.close();
  });

  S('the stream is trimmed by age and expires when nobody publishes', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('bc');
    const b = make(client, { keyPrefix: prefix, retention: 300 });
    const sub = b.subscribe(new Recorder());
    await sub.ready();
    await sub.publish(session('a'));
    await sub.publish(session('b'));
    const owner = nodeFor(client, b.streamKey);
    const ttl = await owner.pttl(b.streamKey);
    assert.ok(ttl > 0 && ttl <= 300, `stream TTL ${ttl}`);
    await sleep(350);
    await sub.publish(session('c'));
    assert.is(await owner.xlen(b.streamKey), 1, 'old entries were not trimmed');
    await sleep(350);
    assert.equal(await keysUnder(client, prefix), [], 'the stream outlived its entries');
    await b.close();
  });

  S('by default entries are kept as long as the longest event lifetime', async () => {
    const client = await connect(io);
    const b = make(client, { keyPrefix: uniquePrefix('bc') });
    const sub = b.subscribe(new Recorder());
    await sub.ready();
    await sub.publish(session('long', 120_000));
    await sub.publish(session('short', 1000));
    const ttl = await nodeFor(client, b.streamKey).pttl(b.streamKey);
    assert.ok(ttl > 110_000 && ttl <= 120_000, `stream TTL ${ttl}`);
    // An event already over is not written at all.
    await sub.publish(session('over', -1));
    assert.is(await nodeFor(client, b.streamKey).xlen(b.streamKey), 2);
    await b.close();
  });

  S.run();
}

for (const io of ioredisMajors) {
  const F = suite(`RedisInvalidationBroadcaster: connections and failures (${io.name})`);
  let server: RedisServer;
  F.before(async () => {
    server = await startRedis();
  });
  F.after(async () => {
    await server.stop();
  });

  F('resumes from the last id after its connection is killed: nothing sent meanwhile is lost', async () => {
    const client = track(new io.Redis(server.port, { lazyConnect: false }));
    client.on('error', () => undefined);
    const b = make(client, { keyPrefix: uniquePrefix('bc'), connectionName: 'reader-b' });
    const ra = new Recorder();
    const rb = new Recorder();
    const a = b.subscribe(ra);
    const sb = b.subscribe(rb);
    await Promise.all([a.ready(), sb.ready()]);
    await a.publish(session('before'));
    await until(() => rb.events.length === 1, 'first event');
    for (let round = 0; round < 3; round++) {
      const ids = await readerIds(client, 'reader-b');
      assert.is(ids.length, 2);
      for (const id of ids) await client.client('KILL', 'ID', id);
      // Published while both readers are down (ioredis waits at least 50 ms before reconnecting).
      await a.publish(session(`while-down-${round}`));
      await until(() => rb.events.length === 2 + round, `event sent while disconnected (round ${round})`);
      // ra's reader may still be waiting for its retry (ioredis 6 adds up to 200 ms of jitter).
      await until(async () => (await readerIds(client, 'reader-b')).length === 2, 'readers to reconnect');
      const again = await readerIds(client, 'reader-b');
      assert.not.equal(again.sort(), ids.sort());
    }
    await sleep(100);
    // Exactly once each: no replay of old entries after a reconnect, and never its own.
    assert.equal(
      rb.events.map((e) => (e as SessionInvalidation).sessionId),
      ['before', 'while-down-0', 'while-down-1', 'while-down-2'],
    );
    assert.equal(ra.events, []);
    await b.close();
    assert.equal(await readerIds(client, 'reader-b'), [], 'close() left reading connections open');
  });

  F('a reader whose connection stops answering is moved to a fresh connection, and still gets what was sent', async () => {
    const client = track(new io.Redis(server.port));
    const b = make(client, { keyPrefix: uniquePrefix('bc'), blockTimeout: 200, commandTimeout: 300, connectionName: 'stall-reader' });
    const r = new Recorder();
    const pub = b.subscribe(new Recorder());
    const sub = b.subscribe(r);
    await Promise.all([pub.ready(), sub.ready()]);
    const admin = track(new io.Redis(server.port));
    const before = await readerIds(admin, 'stall-reader');
    // Stopped for longer than BLOCK + commandTimeout: the read is overdue on a connection that is still "up".
    server.pause();
    await sleep(1200);
    server.resume();
    await pub.publish(session('after-stall'));
    await until(() => r.events.some((e) => (e as SessionInvalidation).sessionId === 'after-stall'), 'event after the stall', 5000);
    await until(async () => (await readerIds(admin, 'stall-reader')).length === 2, 'both readers on fresh connections', 5000);
    const after = await readerIds(admin, 'stall-reader');
    assert.ok(after.every((id) => !before.includes(id)), `readers kept their stalled connections: ${before} → ${after}`);
    await b.close();
  });

  F('publish rejects with ERR_STORAGE_UNAVAILABLE within the bound while Redis is paused or down, then works again', async () => {
    const client = track(new io.Redis(server.port));
    client.on('error', () => undefined);
    const b = make(client, { keyPrefix: uniquePrefix('bc'), commandTimeout: 300, blockTimeout: 200 });
    const r = new Recorder();
    const pub = b.subscribe(new Recorder());
    const sub = b.subscribe(r);
    await Promise.all([pub.ready(), sub.ready()]);

    server.pause();
    let start = Date.now();
    const paused = await pub.publish(session('x')).then(() => undefined, (error: unknown) => error);
    let took = Date.now() - start;
    server.resume();
    assert.instance(paused, SessionError);
    assert.is((paused as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
    assert.ok(took < 400, `paused publish took ${took} ms`);
    console.log(`  publish with Redis paused rejected after ${took} ms (commandTimeout 300)`);

    await server.kill();
    start = Date.now();
    const down = await pub.publish(session('y')).then(() => undefined, (error: unknown) => error);
    took = Date.now() - start;
    assert.instance(down, SessionError);
    assert.is((down as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
    assert.not.ok(String((down as Error).message).includes('alice'));
    assert.ok(took < 400, `publish with Redis down took ${took} ms`);
    console.log(`  publish with Redis down rejected after ${took} ms (commandTimeout 300)`);

    await server.restart();
    await until(() => client.status === 'ready', 'client reconnect', 5000);
    await pub.publish(session('after'));
    await until(() => r.events.some((e) => (e as SessionInvalidation).sessionId === 'after'), 'event after restart', 5000);
    await b.close();
  });

  F('ready() waits for Redis when it is down at subscribe time; close() settles it', async () => {
    const client = track(new io.Redis(server.port, { lazyConnect: true }));
    client.on('error', () => undefined);
    await server.kill();
    const b = make(client, { keyPrefix: uniquePrefix('bc') });
    const sub = b.subscribe(new Recorder());
    let ready = false;
    void sub.ready().then(() => (ready = true));
    await sleep(300);
    assert.not.ok(ready, 'ready() resolved without a replay');
    await server.restart();
    await until(() => ready, 'ready after restart', 5000);
    const other = b.subscribe(new Recorder());
    await other.close();
    await other.ready();
    await b.close();
    await b.close();
    await assertRejects(sub.publish(session('late')), 'ERR_STORAGE_UNAVAILABLE');
  });

  // Regression: a read queued while the reader reconnected to a server that was gone never settled, and close() waited on it forever.
  F('close() settles while the reader is reconnecting to a server that is gone', async () => {
    const client = track(new io.Redis(server.port));
    const b = make(client, { keyPrefix: uniquePrefix('bc'), blockTimeout: 200 });
    const sub = b.subscribe(new Recorder());
    await sub.ready();
    await server.kill();
    await until(() => client.status !== 'ready', 'the client to notice');
    await sleep(300);
    const start = Date.now();
    await b.close();
    assert.ok(Date.now() - start < 1000, `close() took ${Date.now() - start} ms`);
    await server.restart();
  });

  F('warns once when the caller’s client has no error listener; validates its options', async () => {
    const warnings: Error[] = [];
    // Node's own printer is a 'warning' listener too: set aside while this expected warning is captured, so the run stays quiet.
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const client = new io.Redis(server.port, { lazyConnect: true });
    try {
      make(client);
      make(client);
      track(client);
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
      for (const printer of printers) process.on('warning', printer);
    }
    assert.is(warnings.filter((w) => (w as { code?: string }).code === 'JWT_SESSION_REDIS_NO_ERROR_LISTENER').length, 1);
    for (const options of [{ keyPrefix: 'a{b}' }, { commandTimeout: 0 }, { blockTimeout: -1 }, { retention: Number.NaN }, { maxLength: 0 }, { connectionName: 'a b' }]) {
      try {
        make(client, options);
        assert.unreachable(JSON.stringify(options));
      } catch (error) {
        assert.instance(error, SessionError);
        assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      }
    }
    const b = make(client);
    const sub = b.subscribe(new Recorder());
    // A malformed event is the caller's bug (ERR_CLAIMS_INVALID), checked as every receiver checks it.
    await assertRejects(sub.publish({ ...session('nan'), expiresAt: Number.NaN }), 'ERR_CLAIMS_INVALID');
    await b.close();
  });

  F.run();

  const C = suite(`RedisInvalidationBroadcaster on a cluster (${io.name})`);
  C('the stream sits on one slot and events reach subscribers connected through every master', async () => {
    const client = await clusterClient(io);
    const prefix = uniquePrefix('bc');
    // One client per master as entry point: each still reads the stream from the shard that owns it.
    const entries = client.nodes('master').map((n) => track(new io.Cluster([{ host: n.options.host!, port: n.options.port! }])));
    for (const c of entries) c.on('error', () => undefined);
    const broadcasters = entries.map((c) => make(c, { keyPrefix: prefix }));
    const recorders = broadcasters.map(() => new Recorder());
    const subs = broadcasters.map((b, i) => b.subscribe(recorders[i]!));
    await Promise.all(subs.map((s) => s.ready()));
    for (const [i, s] of subs.entries()) await s.publish(session(`from-${i}`));
    await until(() => recorders.every((r) => r.events.length === subs.length - 1), 'fan-out to every node');
    assert.equal(
      recorders.map((r) => r.events.map((e) => (e as SessionInvalidation).sessionId).sort()),
      subs.map((_, i) => subs.map((__, j) => `from-${j}`).filter((id) => id !== `from-${i}`)),
    );
    assert.equal(await keysUnder(client, prefix), [broadcasters[0]!.streamKey]);
    await Promise.all(broadcasters.map((b) => b.close()));
  });

  C.run();
}

const end = suite('broadcaster teardown');
end.after(teardown);
// Guards against leaked clients and servers: the teardown must actually stop what this file started.
end('teardown closes every client and stops every Redis server (their ports refuse connections)', assertTornDown);
end.run();

async function assertRejects(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, SessionError);
    assert.is((error as SessionError).code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

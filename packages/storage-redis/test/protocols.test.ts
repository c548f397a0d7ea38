import type { InvalidationEvent, SessionInvalidation } from '@jwt-session/session-core';
import * as ioredis5 from 'ioredis';
import * as ioredis6 from 'ioredis6';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { streamEntries } from '../src/reply.js';
import { closeLater, makeManager, redisCluster, redisServer, sleep, assertTornDown, teardown, track, uniquePrefix } from './helpers.js';

/*
 * Every protocol setting a caller's client may have, on both ioredis majors:
 * ioredis 6 speaks RESP3 by default and hands XREAD's map reply to call() in
 * a shape of its own (see src/reply.ts). Each setting must carry events
 * between nodes (live and replayed) and run the store's scripts.
 */
const SETUPS: { name: string; options: Record<string, unknown>; make: (options: Record<string, unknown>) => ioredis5.Redis }[] = [
  { name: 'ioredis 5 (RESP2)', options: {}, make: (o) => new ioredis5.Redis(o) },
  { name: 'ioredis 6, default (RESP3, legacy reply mapping)', options: {}, make: (o) => new ioredis6.Redis(o) as unknown as ioredis5.Redis },
  { name: 'ioredis 6, protocol 2', options: { protocol: 2 }, make: (o) => new ioredis6.Redis(o) as unknown as ioredis5.Redis },
  { name: "ioredis 6, protocol 3 with replyMapping 'resp3'", options: { protocol: 3, replyMapping: 'resp3' }, make: (o) => new ioredis6.Redis(o) as unknown as ioredis5.Redis },
  { name: 'ioredis 5 behind a keyPrefix', options: { keyPrefix: 'app:' }, make: (o) => new ioredis5.Redis(o) },
  { name: 'ioredis 6 behind a keyPrefix', options: { keyPrefix: 'app:' }, make: (o) => new ioredis6.Redis(o) as unknown as ioredis5.Redis },
];

const event = (sessionId: string): SessionInvalidation => ({ type: 'session', subject: 'alice', sessionId, reason: 'deleted', at: Date.now(), expiresAt: Date.now() + 60_000 });

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const P = suite('client protocols');

for (const setup of SETUPS) {
  P(`${setup.name}: XREAD replies read the same, events reach other nodes and a late node, the store works`, async () => {
    const server = await redisServer();
    const client = track(setup.make({ host: server.host, port: server.port, ...setup.options }));
    const prefix = uniquePrefix('proto');
    const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: prefix }));

    // The raw reply as this client shapes it, through call() as the reader sends it.
    await client.xadd(broadcaster.streamKey, '*', 'o', 'someone', 'e', '{}');
    const raw = await client.call('XREAD', 'COUNT', 10, 'STREAMS', broadcaster.streamKey, '0-0');
    const entries = streamEntries(raw);
    assert.is(entries.length, 1, JSON.stringify(raw));
    assert.equal(entries[0]![1], ['o', 'someone', 'e', '{}']);
    assert.equal(streamEntries(await client.call('XREAD', 'COUNT', 10, 'STREAMS', broadcaster.streamKey, entries[0]![0])), []);

    const got: InvalidationEvent[] = [];
    const a = broadcaster.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
    const b = broadcaster.subscribe({ restrictOne: (e) => got.push(e), restrictAll: (e) => got.push(e) });
    await Promise.all([a.ready(), b.ready()]);
    await a.publish(event('live'));
    await until(() => got.length === 1, 'the live event');
    const late: InvalidationEvent[] = [];
    const c = broadcaster.subscribe({ restrictOne: (e) => late.push(e), restrictAll: (e) => late.push(e) });
    await c.ready();
    assert.equal(
      late.map((e) => (e as SessionInvalidation).sessionId),
      ['live'],
      'the late node did not replay the stream before ready()',
    );

    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store, broadcaster, maxSessionsPerSubject: 2 });
    await m.ready();
    const t = await m.create('alice', { claims: { n: 1.5 }, context: { ip: '192.0.2.1' } });
    const next = await m.update(t.refreshToken);
    assert.is((await m.readAll('alice')).length, 1);
    const stored = (await store.list('alice', Date.now())).find((s) => s.sessionId === next.sessionId);
    assert.equal(stored?.claims, { n: 1.5 });
    assert.equal(stored?.context, { ip: '192.0.2.1' });
    assert.is(stored?.generation, 1);
    assert.is(await m.deleteOne('alice', next.sessionId), true);
    assert.equal(await m.deleteAll('alice'), 0);
    await broadcaster.close();
  });
}

P('a reply the reader cannot read fails loudly rather than reading as "no entries"', () => {
  for (const reply of [42, 'x', ['stream', 'not a list'], [['stream', 7]], { stream: [['1-0', 'fields']] }, { stream: [[1, []]] }]) {
    assert.throws(() => streamEntries(reply), /unexpected XREAD reply/, JSON.stringify(reply));
  }
  assert.equal(streamEntries(null), []);
});

// Compile-time as much as run-time: both majors' classes, standalone and Cluster, are accepted as they are, without a cast.
P('the store and the broadcaster take either major’s Redis and Cluster as they are', async () => {
  const server = await redisServer();
  const cluster = await redisCluster();
  const clients = [
    track(new ioredis5.Redis(server.port, { lazyConnect: true })),
    track(new ioredis5.Cluster(cluster.startupNodes, { lazyConnect: true })),
  ];
  const six = [new ioredis6.Redis(server.port, { lazyConnect: true }), new ioredis6.Cluster(cluster.startupNodes, { lazyConnect: true })];
  six[0]!.on('error', () => undefined);
  six[1]!.on('error', () => undefined);
  for (const client of [...clients, ...six]) {
    assert.ok(new RedisRefreshTokenStore(client).keys.prefix);
    assert.ok(new RedisInvalidationBroadcaster(client).streamKey);
    client.disconnect();
  }
});

P.run();

const end = suite('protocols teardown');
end.after(teardown);
// Guards against leaked clients and servers: the teardown must actually stop what this file started.
end('teardown closes every client and stops every Redis server (their ports refuse connections)', assertTornDown);
end.run();

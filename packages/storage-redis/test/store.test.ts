import { SessionError, type SessionTokens } from '@jwt-session/session-core';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { ROTATE } from '../src/scripts.js';
import {
  assertTornDown,
  clusterClient,
  clusterSlot,
  closeLater,
  layoutProblems,
  ioredisMajors,
  keysUnder,
  makeManager,
  mastersOf,
  redisServer,
  sleep,
  snapshot,
  standaloneClient,
  teardown,
  track,
  uniquePrefix,
} from './helpers.js';

const secretOf = (refreshToken: string) => refreshToken.split('.')[2]!;
const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('base64url');

for (const io of ioredisMajors) for (const [kind, connect] of [
  ['standalone', standaloneClient],
  ['cluster', clusterClient],
] as const) {
  const S = suite(`RedisRefreshTokenStore (${kind}, ${io.name})`);

  S('after a workload: no token or secret at rest, every key expires, every session under its subject\'s key', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('rest');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: prefix }));
    const m = makeManager({ refreshTokenStore: store, broadcaster, maxSessionsPerSubject: 3, refreshTokenIdleTtl: 3600 });
    await m.ready();
    const issued: SessionTokens[] = [];
    const current = new Map<string, SessionTokens>();
    const subjects = Array.from({ length: 20 }, (_, i) => (i % 2 ? `user-${i}@example.com` : `ユーザー {${i}}:s:x`));
    for (const subject of subjects) {
      for (let n = 0; n < 4; n++) {
        const t = await m.create(subject, { claims: { roles: ['user'], n }, context: { ip: '203.0.113.9', userAgent: 'test/1.0', n } });
        issued.push(t);
        current.set(t.sessionId, t);
      }
    }
    for (const t of [...current.values()]) {
      const next = await m.update(t.refreshToken, { context: { ip: '198.51.100.2' } }).catch((error: unknown) => {
        // Evicted by the cap is the only failure this workload expects.
        if (!(error instanceof SessionError) || error.code !== 'ERR_REFRESH_TOKEN_INVALID') throw error;
        return undefined;
      });
      if (next === undefined) continue;
      issued.push(next);
      current.set(t.sessionId, next);
      const again = await m.update(next.refreshToken);
      issued.push(again);
      current.set(t.sessionId, again);
    }
    // Reuse, deleteOne, deleteAll.
    const [victim, deleted] = (await m.readAll(subjects[0]!)).map((s) => current.get(s.sessionId)!);
    const spent = issued.find((t) => t.sessionId === victim!.sessionId)!.refreshToken;
    const reuse = await m.update(spent).catch((error: unknown) => error);
    assert.is((reuse as SessionError).code, 'ERR_REFRESH_TOKEN_REUSED');
    current.delete(victim!.sessionId);
    await m.deleteOne(subjects[0]!, deleted!.sessionId);
    current.delete(deleted!.sessionId);
    await m.deleteAll(subjects[1]!);

    const keys = await snapshot(client, prefix);
    const everything = keys.flatMap((k) => [k.key, ...k.values]).join('\n');
    for (const t of issued) {
      assert.not.ok(everything.includes(t.refreshToken), 'a refresh token is stored');
      assert.not.ok(everything.includes(secretOf(t.refreshToken)), 'a refresh secret is stored');
      assert.not.ok(everything.includes(t.accessToken), 'an access token is stored');
      assert.not.ok(everything.includes(t.accessToken.split('.')[2]!), 'an access-token signature is stored');
    }
    // The scan did read the values: the live sessions' current secret hashes are there.
    const live = [];
    for (const subject of subjects) live.push(...(await m.readAll(subject)));
    assert.ok(live.length > 20);
    for (const s of live) assert.ok(everything.includes(hashOf(secretOf(current.get(s.sessionId)!.refreshToken))), 'the current hash is missing');
    for (const k of keys) assert.ok(k.ttl > 0, `${k.type} ${k.key} has no expiry (${k.ttl})`);
    assert.ok(keys.some((k) => k.type === 'stream'));
    const check = layoutProblems(keys);
    assert.equal(check.problems, []);
    assert.is(check.sessions, live.length);
  });

  S('100 concurrent update() of one refresh token: exactly one winner, the session stays consistent', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('race');
    const m = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }), refreshTokenReuseInterval: 0 });
    const t = await m.create('alice');
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => m.update(t.refreshToken)));
    const winners = results.filter((r) => r.status === 'fulfilled');
    assert.is(winners.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.instance(r.reason, SessionError);
        assert.ok(['ERR_REFRESH_TOKEN_REUSED', 'ERR_REFRESH_TOKEN_INVALID'].includes((r.reason as SessionError).code), (r.reason as SessionError).code);
      }
    }
    // The losers presented a rotated-out token: reuse, so the session is gone, on the server too.
    assert.equal(await m.readAll('alice'), []);
    assert.equal(await keysUnder(client, prefix), []);
  });

  S('1,000 concurrent create() over 100 subjects with a cap of 5: exactly 5 live sessions each, and nothing else stored', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('cap');
    const m = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }), maxSessionsPerSubject: 5 });
    const subjects = Array.from({ length: 100 }, (_, i) => `subject-${i}`);
    const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => m.create(subjects[i % 100]!)));
    assert.is(results.filter((r) => r.status === 'fulfilled').length, 1000);
    for (const subject of subjects) assert.is((await m.readAll(subject)).length, 5, subject);
    const check = layoutProblems(await snapshot(client, prefix));
    assert.equal(check.problems, []);
    assert.is(check.sessions, 500);
  });

  S('a login appends to a live subject key without decoding it: 40 sessions, past 15 (a larger MessagePack array header), all readable', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('append');
    const m = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }) });
    const pttlCalls = async () => {
      let calls = 0;
      for (const node of mastersOf(client)) calls += Number(/cmdstat_pttl:calls=(\d+)/.exec((await node.info('commandstats')) as string)?.[1] ?? 0);
      return calls;
    };
    const before = await pttlCalls();
    const tokens: SessionTokens[] = [];
    for (let n = 0; n < 40; n++) tokens.push(await m.create('many', { claims: { n }, context: { ip: '203.0.113.7', n } }));
    const made = tokens.map((t) => t.sessionId);
    // The append path reads the key's PTTL once (the decoding path never does): every insert after the first took it.
    assert.is((await pttlCalls()) - before, 39);
    const listed = await m.readAll('many');
    assert.equal(listed.map((s) => s.sessionId).sort(), [...made].sort());
    assert.equal(listed.find((s) => s.sessionId === made[20])!.context, { ip: '203.0.113.7', n: 20 });
    const check = layoutProblems(await snapshot(client, prefix));
    assert.equal(check.problems, []);
    assert.is(check.sessions, 40);
    // What the appends wrote decodes and rotates: the first, one past the fixarray limit, the last.
    for (const n of [0, 15, 39]) {
      const next = await m.update(tokens[n]!.refreshToken);
      assert.equal((await m.read(next.accessToken)).n, n);
    }
    assert.equal(layoutProblems(await snapshot(client, prefix)).problems, []);
  });

  S('a login into a key holding a dead session takes the decoding path, which drops it; a repeated insert stays one session', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('dead');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    let now = Date.now();
    const short = makeManager({ refreshTokenStore: store, refreshTokenTtl: 60, clock: () => now });
    const long = makeManager({ refreshTokenStore: store, refreshTokenTtl: 3600, clock: () => now });
    const first = await short.create('bob');
    await long.create('bob');
    now += 61_000;
    const third = await long.create('bob');
    const check = layoutProblems(await snapshot(client, prefix), now);
    assert.equal(check.problems, []);
    assert.is(check.sessions, 2, 'the dead session is gone from Redis, not only from lists');
    assert.not.ok(check.ids.has(first.sessionId));
    // The same record again (a retried command): still one.
    const [record] = await store.list('bob', now);
    assert.ok(record);
    const again = { sessionId: third.sessionId, subject: 'bob', tokenHash: 'h'.repeat(43), createdAt: now, expiresAt: now + 3_600_000, idleExpiresAt: undefined, claims: {}, context: {} };
    await store.insert(again, { now, maxSessionsPerSubject: undefined });
    assert.is(layoutProblems(await snapshot(client, prefix), now).sessions, 2);
  });

  S('a value in format 1 (0.1, before the deadline bound) is read, and written back in the current format', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('format1');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store });
    const a = await m.create('carol', { context: { ip: '203.0.113.7' } });
    const [stored] = await keysUnder(client, prefix);
    // Rewrite the value as format 1 wrote it: { 1, records }.
    const rewrite = "local v = cmsgpack.unpack(redis.call('GET', KEYS[1])) redis.call('SET', KEYS[1], cmsgpack.pack({ 1, v[3] }), 'KEEPTTL') return 1";
    await client.eval(rewrite, 1, stored!);
    assert.is((await client.getBuffer(stored!))![1], 1);
    const next = await m.update(a.refreshToken);
    assert.is(next.sessionId, a.sessionId);
    await m.create('carol');
    assert.is((await m.readAll('carol')).length, 2);
    assert.is((await client.getBuffer(stored!))![1], 2, 'written back in format 2');
  });

  S('when every session of a subject has expired, no key of it remains', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('ttl');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store, refreshTokenTtl: 1, accessTokenTtl: 1 });
    const a = await m.create('alice');
    await m.create('alice');
    await m.update(a.refreshToken);
    assert.is((await keysUnder(client, prefix)).length, 1);
    await sleep(1100);
    // Nothing read them: Redis removed them on its own.
    assert.equal(await keysUnder(client, prefix), []);
  });

  S('the keys of one subject share a slot, and subjects spread over the slots', async () => {
    const client = await connect(io);
    const prefix = uniquePrefix('slot');
    const m = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }) });
    const subjects = Array.from({ length: 60 }, (_, i) => `spread-${i}`);
    for (const subject of subjects) {
      await m.create(subject);
      await m.create(subject);
    }
    const keys = await keysUnder(client, prefix);
    assert.is(keys.length, 60);
    const slotsByTag = new Map<string, Set<number>>();
    for (const key of keys) {
      const tag = /\{(.{4})\}/.exec(key)![1]!;
      if (!slotsByTag.has(tag)) slotsByTag.set(tag, new Set());
      slotsByTag.get(tag)!.add(clusterSlot(key));
    }
    for (const [tag, slots] of slotsByTag) assert.is(slots.size, 1, `keys of {${tag}} on ${slots.size} slots`);
    const usedSlots = new Set([...slotsByTag.values()].flatMap((s) => [...s]));
    assert.ok(usedSlots.size > 50, `only ${usedSlots.size} slots used`);
    if (kind === 'cluster') {
      const perNode = await Promise.all(mastersOf(client).map(async (node) => (await node.keys(`${prefix}*`)).length));
      assert.ok(perNode.every((n) => n > 0), `keys per master: ${perNode.join(', ')}`);
    }
  });

  S.run();
}

for (const io of ioredisMajors) {
  const O = suite(`RedisRefreshTokenStore: round trips, options, errors (${io.name})`);

  O('every operation is one round trip: a single EVALSHA, nothing else', async () => {
    const server = await redisServer();
    const client = track(new io.Redis(server.port));
    const store = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('rt') });
    const m = makeManager({ refreshTokenStore: store, maxSessionsPerSubject: 2 });
    // Warm the script cache: the very first call of a script is EVALSHA → NOSCRIPT → EVAL.
    const warm = await m.create('warm');
    await m.update(warm.refreshToken);
    await m.readAll('warm');
    await m.deleteOne('warm', warm.sessionId);
    await m.deleteAll('warm');

    // From the already-connected client: a client connecting meanwhile would send its ready-check INFO right after MONITOR's +OK, which ioredis can misparse.
    const monitor = track(await client.monitor());
    await sleep(30);
    const seen: string[][] = [];
    const { port: localPort } = client.stream.address() as { port: number };
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source.endsWith(`:${localPort}`)) seen.push(args);
    });
    const rounds: [string, () => Promise<unknown>][] = [];
    let t: SessionTokens | undefined;
    rounds.push(['create', async () => (t = await m.create('alice', { context: { ip: '192.0.2.1' } }))]);
    rounds.push(['create (evicts)', () => m.create('alice')]);
    rounds.push(['create (evicts)', () => m.create('alice')]);
    rounds.push(['update', () => m.update(t === undefined ? '' : t.refreshToken).catch(() => undefined)]);
    rounds.push(['readAll', () => m.readAll('alice')]);
    rounds.push(['deleteOne', async () => m.deleteOne('alice', (await store.list('alice', Date.now()))[0]!.sessionId)]);
    rounds.push(['deleteAll', () => m.deleteAll('alice')]);
    for (const [name, run] of rounds) {
      await sleep(30);
      seen.length = 0;
      await run();
      await sleep(30);
      // deleteOne above lists first (one more round trip of its own, by the test).
      const expected = name === 'deleteOne' ? 2 : 1;
      assert.is(seen.length, expected, `${name}: ${seen.map((a) => a[0]).join(', ')}`);
      assert.ok(seen.every((args) => args[0]!.toLowerCase() === 'evalsha'), `${name}: ${seen.map((a) => a[0]).join(', ')}`);
    }
    monitor.disconnect();
  });

  // Guards the write coalescing: a system call per command was a quarter of create()'s CPU under load.
  O('commands sent in one turn of the event loop leave in one write, on a standalone client and on every Cluster node', async () => {
    for (const client of [await standaloneClient(io), await clusterClient(io)]) {
      const store = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('cork') });
      const m = makeManager({ refreshTokenStore: store });
      // Subjects spread over the slots: every master's connection is made before the measured turn.
      await Promise.all(Array.from({ length: 30 }, (_, i) => m.create(`warm-${i}`)));
      const sockets = ('nodes' in client && typeof client.nodes === 'function' ? client.nodes('all').map((n) => n.stream) : [(client as { stream: unknown }).stream]).filter(
        (socket) => socket !== undefined,
      );
      assert.is(sockets.length, 'nodes' in client ? 3 : 1);
      const writes: number[] = [];
      for (const socket of sockets) {
        const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
        const write = s._write.bind(socket);
        const writev = s._writev.bind(socket);
        s._write = (...a) => (writes.push(1), write(...a));
        s._writev = (...a) => (writes.push((a[0] as unknown[]).length), writev(...a));
      }
      const subjects = Array.from({ length: 24 }, (_, i) => `cork-${i}`);
      const created = await Promise.all(subjects.map((subject) => m.create(subject)));
      assert.is(created.length, 24);
      // At most one write per connection per batch of 16 (24 commands: two batches), carrying every command of the turn.
      assert.ok(writes.length <= 2 * sockets.length, `${writes.length} writes over ${sockets.length} connections: ${writes.join(', ')}`);
      assert.is(writes.reduce((a, b) => a + b, 0), 24);
      for (const socket of sockets) assert.is((socket as unknown as { writableCorked: number }).writableCorked, 0);
      for (const subject of subjects) assert.is((await m.readAll(subject)).length, 1);
    }
  });

  // Guards the EVALSHA → EVAL fallback (the store calls EVALSHA itself, not through defineCommand).
  O('a server whose script cache was emptied (restart, failover, SCRIPT FLUSH) gets the script again, once', async () => {
    const client = await standaloneClient(io);
    const store = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('flush') });
    const m = makeManager({ refreshTokenStore: store });
    const t = await m.create('alice');
    await client.script('FLUSH');
    const next = await m.update(t.refreshToken);
    assert.is((await store.list('alice', Date.now()))[0]!.generation, 1);
    const sha = createHash('sha1').update(ROTATE).digest('hex');
    assert.equal(await client.script('EXISTS', sha), [1]);
    await m.update(next.refreshToken);
    assert.is((await store.list('alice', Date.now()))[0]!.generation, 2);
  });

  O('works behind an ioredis keyPrefix on the caller’s client', async () => {
    const server = await redisServer();
    const client = track(new io.Redis(server.port, { keyPrefix: 'app:' }));
    const store = new RedisRefreshTokenStore(client, { keyPrefix: 'sess:' });
    const m = makeManager({ refreshTokenStore: store, maxSessionsPerSubject: 1 });
    const a = await m.create('alice');
    await m.create('alice');
    await assertCode(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
    const admin = await standaloneClient(io);
    const keys = await keysUnder(admin, 'app:sess:');
    // The subject's key, and the receipt of the insert that evicted (kept for settleInsert until deleteAll or its ttl).
    assert.is(keys.length, 2, keys.join());
    assert.is(await m.deleteAll('alice'), 1);
    assert.equal(await keysUnder(admin, 'app:sess:'), []);
  });

  // Guards keyLayout.kindOf, which the operations CLI's `stats` relies on to count keys found by SCAN without repeating the layout.
  O('kindOf classifies every key the store and broadcaster write, and nothing else', async () => {
    const client = await standaloneClient(io);
    const prefix = uniquePrefix('kind');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: prefix }));
    const m = makeManager({ refreshTokenStore: store, broadcaster });
    const t = await m.create('a:{b}\n');
    await m.create('carol');
    await m.deleteOne('carol', (await m.readAll('carol'))[0]!.sessionId);
    // Guards #13: an evicting insert leaves a receipt `{tag}:x:<id>` for settleInsert; kindOf must know it (stats counted it as foreign).
    const capped = makeManager({ refreshTokenStore: store, broadcaster, maxSessionsPerSubject: 1 });
    await capped.create('dora');
    const second = await capped.create('dora');
    // Issue 22: a subject's device history, on its sessions key's slot.
    await store.rememberDevice('carol', 'device-fingerprint-001', { now: Date.now(), ttl: 60_000, max: 5 });
    assert.is(store.keys.devices('carol').replace(':d:', ':s:'), store.keys.subject('carol'));
    const kinds = (await keysUnder(client, prefix)).map((key) => store.keys.kindOf(key)).sort();
    assert.equal(kinds, ['devices', 'receipt', 'sessions', 'sessions', 'stream']);
    assert.is(store.keys.kindOf(store.keys.session(t.sessionId)), 'sessions');
    assert.is(store.keys.session(t.sessionId), store.keys.subject('a:{b}\n'));
    const receipt = `${store.keys.session(second.sessionId).slice(0, -'s:1234567'.length)}x:${second.sessionId}`;
    assert.is(await client.exists(receipt), 1, receipt);
    assert.is(store.keys.kindOf(receipt), 'receipt');
    for (const other of [`${prefix}other`, `${prefix}{x}:q:1`, `${prefix}{x}:s:`, `${prefix}{x}:x:`, 'elsewhere:{invalidations}', `x${prefix}{ab}:s:1`, `${prefix}{abcd}:s:123456`, `${prefix}{abcd}:s:12345678`, `${prefix}{abcd}:x:${'a'.repeat(25)}`, `${prefix}{abcd}:u:6869`, `${prefix}{abcd}:d:123456`, `${prefix}{abcd}:e:1234567`, `${prefix}dpop:${'a'.repeat(42)}`, `${prefix}dpop:${'a'.repeat(44)}`, `${prefix}dpop:${'a'.repeat(42)}=`, `x${prefix}dpop:${'a'.repeat(43)}`]) {
      assert.is(store.keys.kindOf(other), undefined, other);
    }
  });


  O('options are validated', async () => {
    const client = await standaloneClient(io);
    for (const options of [{ keyPrefix: 'x{' }, { keyPrefix: '}' }, { commandTimeout: 0 }, { commandTimeout: Number.POSITIVE_INFINITY }, { maxInFlight: 0 }, { maxInFlight: 1.5 }]) {
      try {
        new RedisRefreshTokenStore(client, options);
        assert.unreachable(JSON.stringify(options));
      } catch (error) {
        assert.instance(error, SessionError);
        assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      }
    }
    assert.is(new RedisRefreshTokenStore(client).keys.prefix, 'jwt-session:');
  });

  O('a script error surfaces as ERR_STORAGE_UNAVAILABLE without the command’s arguments', async () => {
    const client = await standaloneClient(io);
    const prefix = uniquePrefix('err');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store });
    const t = await m.create('alice');
    // Someone else's value under our key: the script fails with WRONGTYPE.
    await client.del(store.keys.session(t.sessionId));
    await client.rpush(store.keys.session(t.sessionId), 'not a session');
    const error = await assertCode(m.update(t.refreshToken), 'ERR_STORAGE_UNAVAILABLE');
    const text = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${JSON.stringify(error.cause)}`;
    assert.ok(/WRONGTYPE/.test(text), text);
    assert.not.ok(text.includes(secretOf(t.refreshToken)));
    assert.not.ok(text.includes(hashOf(secretOf(t.refreshToken))), 'the hash travelled in the error');
    assert.not.ok('command' in (error.cause as object), 'the ioredis command (with its arguments) travelled');
    await client.del(store.keys.session(t.sessionId));
  });

  O.run();
}

const end = suite('store teardown');
end.after(teardown);
// Guards against leaked clients and servers: the teardown must actually stop what this file started.
end('teardown closes every client and stops every Redis server (their ports refuse connections)', assertTornDown);
end.run();

async function assertCode(promise: Promise<unknown>, code: string): Promise<SessionError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, SessionError);
    assert.is((error as SessionError).code, code);
    return error as SessionError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

import { ReferenceBroadcaster } from './reference-storage.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_SESSIONS_INVALIDATED,
  REFRESH_TOKEN_REUSED,
  SESSION_CREATED,
  SESSION_INVALIDATED,
  SESSION_REFRESHED,
  type InvalidationBroadcaster,
  type InvalidationEvent,
  type InvalidationReceiver,
} from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';

const S = suite('events and cluster-wide invalidation');

S('events carry ids and times, never a token', async () => {
  const h = harness();
  const seen: Array<[string, unknown]> = [];
  for (const name of [SESSION_CREATED, SESSION_REFRESHED, SESSION_INVALIDATED, ALL_SESSIONS_INVALIDATED, REFRESH_TOKEN_REUSED] as const) {
    h.manager.on(name, (payload: unknown) => seen.push([name, payload]));
  }
  const a = await h.manager.create('alice');
  const b = await h.manager.update(a.refreshToken);
  await rejectsWith(h.manager.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  const c = await h.manager.create('alice');
  await h.manager.deleteOne('alice', c.sessionId);
  await h.manager.deleteAll('alice');
  assert.equal(
    seen.map(([name]) => name),
    [SESSION_CREATED, SESSION_REFRESHED, REFRESH_TOKEN_REUSED, SESSION_INVALIDATED, SESSION_CREATED, SESSION_INVALIDATED, ALL_SESSIONS_INVALIDATED],
  );
  const text = JSON.stringify(seen);
  for (const token of [a, b, c]) {
    for (const part of [token.accessToken, token.refreshToken, token.refreshToken.split('.')[2]!, token.accessToken.split('.')[2]!]) assert.not.ok(text.includes(part));
  }
  await h.close();
});

S('a throwing listener does not turn a deletion into a rejection, and the other listeners still run', async () => {
  const h = harness();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  let second = 0;
  const boom = () => {
    throw new Error('listener bug');
  };
  h.manager.on(SESSION_INVALIDATED, boom);
  h.manager.on(SESSION_INVALIDATED, () => second++);
  const a = await h.manager.create('alice');
  assert.is(await h.manager.deleteOne('alice', a.sessionId), true);
  assert.is(second, 1);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.ok(warnings.some((w) => w.includes('listener bug')));
  h.manager.off(SESSION_INVALIDATED, boom);
  assert.is(h.manager.listenerCount(SESSION_INVALIDATED), 1);
  await h.close();
});

S('deleteOne and deleteAll on one node are enforced on every other node at once', async () => {
  const hub = new ReferenceBroadcaster();
  const a = harness({}, hub);
  const b = harness({ refreshTokenStore: a.store }, hub);
  const remote: unknown[] = [];
  b.manager.on(SESSION_INVALIDATED, (e) => remote.push(e));
  b.manager.on(ALL_SESSIONS_INVALIDATED, (e) => remote.push(e));
  const one = await a.manager.create('alice');
  const two = await a.manager.create('alice');
  await b.manager.read(one.accessToken);
  await a.manager.deleteOne('alice', one.sessionId);
  await rejectsWith(b.manager.read(one.accessToken), 'ERR_SESSION_REVOKED');
  await b.manager.read(two.accessToken);
  await a.manager.deleteAll('alice');
  await rejectsWith(b.manager.read(two.accessToken), 'ERR_SESSION_REVOKED');
  assert.equal(
    remote.map((e) => (e as { origin: string }).origin),
    ['remote', 'remote'],
  );
  await a.close();
  await b.close();
});

S('reuse detected on one node revokes the session on the others', async () => {
  const hub = new ReferenceBroadcaster();
  const a = harness({}, hub);
  const b = harness({ refreshTokenStore: a.store }, hub);
  const t = await a.manager.create('alice');
  const next = await b.manager.update(t.refreshToken);
  await a.manager.read(next.accessToken);
  await rejectsWith(a.manager.update(t.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  await rejectsWith(b.manager.read(next.accessToken), 'ERR_SESSION_REVOKED');
  await a.close();
  await b.close();
});

S('a node that starts after a revocation enforces it from its first read', async () => {
  const hub = new ReferenceBroadcaster();
  const a = harness({}, hub);
  const t = await a.manager.create('alice');
  await a.manager.deleteOne('alice', t.sessionId);
  const late = harness({ refreshTokenStore: a.store }, hub);
  await late.manager.ready();
  await rejectsWith(late.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
  assert.is(hub.size, 1);
  await a.close();
  await late.close();
});

/** Hands the test the receiver the manager subscribed with, to play another node. */
class CapturingBroadcaster implements InvalidationBroadcaster {
  receiver!: InvalidationReceiver;
  subscribe(receiver: InvalidationReceiver) {
    this.receiver = receiver;
    return { publish: async () => undefined, ready: async () => undefined, close: async () => undefined };
  }
}

S('malformed broadcasts are ignored without throwing', async () => {
  const remote = new CapturingBroadcaster();
  const h = harness({ broadcaster: remote });
  const t = await h.manager.create('alice');
  const junk: unknown[] = [null, 42, 'x', {}, { type: 'session' }, { subject: 'alice', at: 'now', expiresAt: 1 }, { subject: 'alice', sessionId: t.sessionId, reason: 'bogus', at: 1, expiresAt: Date.now() + 1e6 }, { subject: '', at: 1, expiresAt: 2 }];
  for (const event of junk) {
    remote.receiver.restrictOne(event as never);
    remote.receiver.restrictAll(event as never);
  }
  await h.manager.read(t.accessToken);
  await h.close();
});

S('remote invalidations that have already run out record nothing but are still announced', async () => {
  const remote = new CapturingBroadcaster();
  const h = harness({ broadcaster: remote });
  const t = await h.manager.create('alice');
  const seen: unknown[] = [];
  h.manager.on(SESSION_INVALIDATED, (e) => seen.push(e));
  remote.receiver.restrictOne({ type: 'session', subject: 'alice', sessionId: t.sessionId, reason: 'deleted', at: 1, expiresAt: 2 });
  await h.manager.read(t.accessToken);
  assert.is(seen.length, 1);
  remote.receiver.restrictOne({ type: 'session', subject: 'alice', sessionId: t.sessionId, reason: 'deleted', at: h.clock.now, expiresAt: h.clock.now + 60_000 });
  await rejectsWith(h.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await h.close();
});

/** A broadcaster whose network can be cut, to see what the manager does with a failed publish. */
class FlakyBroadcaster implements InvalidationBroadcaster {
  down = true;
  delivered: InvalidationEvent[] = [];
  subscribe(_receiver: InvalidationReceiver) {
    return {
      publish: async (event: InvalidationEvent) => {
        if (this.down) throw new Error('ECONNREFUSED');
        this.delivered.push(event);
      },
      ready: async () => undefined,
      close: async () => undefined,
    };
  }
}

S('a failed broadcast is reported, enforced locally, and retried until it goes through', async () => {
  const flaky = new FlakyBroadcaster();
  const h = harness({ broadcaster: flaky });
  const t = await h.manager.create('alice');
  const error = await rejectsWith(h.manager.deleteOne('alice', t.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  assert.ok(error.message.includes('retried'));
  await rejectsWith(h.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
  flaky.down = false;
  const deadline = Date.now() + 2000;
  while (flaky.delivered.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(flaky.delivered.length, 1);
  assert.is((flaky.delivered[0] as { sessionId: string }).sessionId, t.sessionId);
  await h.close();
});

S('close() stops pending retries and later calls fail clearly', async () => {
  const flaky = new FlakyBroadcaster();
  const h = harness({ broadcaster: flaky });
  const t = await h.manager.create('alice');
  await rejectsWith(h.manager.deleteAll('alice'), 'ERR_STORAGE_UNAVAILABLE');
  await h.manager.close();
  await h.manager.close();
  flaky.down = false;
  await new Promise((r) => setTimeout(r, 400));
  assert.is(flaky.delivered.length, 0);
  await rejectsWith(h.manager.create('alice'), 'ERR_CONFIG_INVALID');
  await rejectsWith(h.manager.read(t.accessToken), 'ERR_CONFIG_INVALID');
  await h.close();
});

S.run();

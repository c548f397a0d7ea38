import { JwtUserSessionManager } from '@jwt-session/session-core';
import { fakeHash, newRecord, rejectsWith, sleep, T0 } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '../src/index.js';

const S = suite('storage-memory specifics');

S('maxSessions bounds the store: a full store refuses rather than dropping someone’s session', async () => {
  const store = new MemoryRefreshTokenStore({ maxSessions: 2 });
  await store.insert(newRecord('alice'), { now: T0 });
  await store.insert(newRecord('bob'), { now: T0 });
  const full = await rejectsWith(store.insert(newRecord('carol'), { now: T0 }), 'ERR_STORAGE_UNAVAILABLE');
  // The reason tells the operator the store is full, not down (#19 §2).
  assert.is(full.reason, 'store_full');
  assert.is(store.size, 2);
  // Eviction within the subject's own cap makes room.
  const { evicted } = await store.insert(newRecord('alice', { createdAt: T0 + 1 }), { now: T0 + 1, maxSessionsPerSubject: 1 });
  assert.is(evicted.length, 1);
  assert.is(store.size, 2);
  await store.close();
});

S('a subject containing the record separator survives storage and expiry', async () => {
  const store = new MemoryRefreshTokenStore();
  const subject = 'odd\u001fsubject\u001f';
  const rec = newRecord(subject);
  await store.insert(rec, { now: T0 });
  assert.equal((await store.list(subject, T0)).map((s) => s.subject), [subject]);
  assert.equal((await store.list(subject, T0)).map((s) => s.sessionId), [rec.sessionId]);
  assert.is(await store.delete(subject, rec.sessionId, T0), true);
  assert.is(store.subjectCount, 0);
  await store.close();
});

S('invalid maxSessions is a configuration error', () => {
  for (const maxSessions of [0, -1, 1.5, Number.NaN]) {
    try {
      new MemoryRefreshTokenStore({ maxSessions });
      assert.unreachable();
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID');
    }
  }
});

S('expired sessions and their subject index leave memory on a timer, unread', async () => {
  const store = new MemoryRefreshTokenStore();
  const now = Date.now();
  for (let i = 0; i < 50; i++) await store.insert(newRecord(`user-${i % 5}`, { createdAt: now, expiresAt: now + 50 + i }), { now });
  assert.is(store.size, 50);
  assert.is(store.subjectCount, 5);
  await sleep(300);
  assert.is(store.size, 0);
  assert.is(store.subjectCount, 0);
  await store.close();
});

S('a rotated session leaves memory at its deadline: kept by rotation (queued once), or moved by idle expiry', async () => {
  const store = new MemoryRefreshTokenStore();
  const now = Date.now();
  const rotate = async (rec: { sessionId: string }, presentedHash: string, idleTtl?: number) => {
    const successorHash = fakeHash();
    const result = await store.rotate({ sessionId: rec.sessionId, presentedHash, successorHash, now, reuseInterval: 0, idleTtl });
    assert.is(result.status, 'rotated');
    return successorHash;
  };
  const fixed = newRecord('fixed', { createdAt: now, expiresAt: now + 100 });
  await store.insert(fixed, { now });
  let hash = fixed.tokenHash;
  for (let i = 0; i < 20; i++) hash = await rotate(fixed, hash);
  const idle = newRecord('idle', { createdAt: now, expiresAt: now + 10_000, idleExpiresAt: now + 100 });
  await store.insert(idle, { now });
  await rotate(idle, idle.tokenHash, 400);
  await sleep(250);
  assert.is(store.size, 1, 'the session of fixed deadline left memory at it; the idle one moved on');
  await sleep(400);
  assert.is(store.size, 0);
  assert.is(store.subjectCount, 0);
  await store.close();
});

S('the invalidation cache forgets entries on its own', async () => {
  const cache = new MemoryInvalidAccessTokenCache();
  cache.invalidateSession('a', 40);
  cache.invalidateSubject('alice', 1, 40);
  assert.is(cache.size, 2);
  await sleep(200);
  assert.is(cache.size, 0);
  cache.close();
});

S('the broadcaster links managers, skips the sender, and replays only what is still in force', async () => {
  let now = Date.now();
  const hub = new MemoryBroadcaster({ clock: () => now });
  const got: Array<[string, unknown]> = [];
  const receiver = (name: string) => ({
    restrictOne: (e: unknown) => got.push([name, e]),
    restrictAll: (e: unknown) => got.push([name, e]),
  });
  const a = hub.subscribe(receiver('a'));
  const b = hub.subscribe(receiver('b'));
  await a.ready();
  await a.publish({ type: 'session', subject: 's', sessionId: 'x', reason: 'deleted', at: now, expiresAt: now + 1000 });
  await b.publish({ type: 'subject', subject: 's', at: now, expiresAt: now + 5000 });
  assert.equal(got.map(([name]) => name), ['b', 'a']);
  now += 2000;
  const late = hub.subscribe(receiver('late'));
  assert.equal(got.slice(2).map(([name, e]) => [name, (e as { type: string }).type]), [['late', 'subject']]);
  assert.is(hub.size, 1);
  await b.close();
  let refused = false;
  await b.publish({ type: 'subject', subject: 's', at: now, expiresAt: now + 5000 }).catch(() => (refused = true));
  assert.ok(refused, 'a closed subscription still published');
  await a.close();
  await late.close();
});

S('a receiver that throws does not keep the event from the others', async () => {
  const hub = new MemoryBroadcaster();
  const seen: string[] = [];
  const sender = hub.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  hub.subscribe({
    restrictOne: () => {
      throw new Error('boom');
    },
    restrictAll: () => undefined,
  });
  hub.subscribe({ restrictOne: () => seen.push('ok'), restrictAll: () => undefined });
  await sender.publish({ type: 'session', subject: 's', sessionId: 'x', reason: 'deleted', at: 1, expiresAt: Date.now() + 1000 });
  assert.equal(seen, ['ok']);
});

S('two managers on one hub: revoking on one is enforced by the other at once', async () => {
  const hub = new MemoryBroadcaster();
  const store = new MemoryRefreshTokenStore();
  const make = () =>
    new JwtUserSessionManager({
      keys: { kid: 'k', algorithm: 'HS256', secret: 's'.repeat(32) },
      issuer: 'i',
      audience: 'a',
      refreshTokenStore: store,
      invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
      broadcaster: hub,
    });
  const [a, b] = [make(), make()];
  const t = await a.create('alice');
  await b.read(t.accessToken);
  await a.deleteOne('alice', t.sessionId);
  await rejectsWith(b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await a.close();
  await b.close();
  await store.close();
});

S('entriesAfter: a cursor of another hub (an origin restarted, its numbers begun again) reads this log from the start', async () => {
  const event = (n: number) => ({ type: 'session' as const, subject: 's', sessionId: `id${n}`, reason: 'deleted' as const, at: 1, expiresAt: Date.now() + 60_000 });
  const before = new MemoryBroadcaster();
  const old = before.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  for (let n = 0; n < 3; n++) await old.publish(event(n));
  const { cursor } = await before.entriesAfter(undefined, 10);
  const restarted = new MemoryBroadcaster();
  const sender = restarted.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  await sender.publish(event(9));
  // Numbered 1 here, below the old cursor's 3: read by number alone, it would be skipped.
  const page = await restarted.entriesAfter(cursor, 10);
  assert.equal(page.entries.map((e) => (e.event as { sessionId: string }).sessionId), ['id9']);
  assert.is.not(page.cursor, cursor);
});

S.run();

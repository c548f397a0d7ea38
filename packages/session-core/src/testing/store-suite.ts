import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RefreshTokenStore, RotateRequest } from '../storage.js';
import { HOUR, T0, fakeHash, newRecord, sleep } from './fixtures.js';

export interface StoreFixture {
  store: RefreshTokenStore;
  /** Keys or entries the backend still holds for sessions; lets the suite check that nothing outlives a session. */
  footprint?: () => Promise<number>;
  close: () => Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

/**
 * The store-level contract every RefreshTokenStore passes: atomic rotation,
 * grace and reuse, expiry, per-subject cap, list, delete, delete all.
 */
export function testRefreshTokenStore(name: string, factory: StoreFactory): void {
  const S = suite<{ fx: StoreFixture; store: RefreshTokenStore }>(`${name}: RefreshTokenStore conformance`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.store = ctx.fx.store;
  });
  S.after.each(async (ctx) => {
    await ctx.fx.close();
  });

  /** The live session of alice with this id, as `list` returns it (stores have no lookup by id beyond rotate). */
  const find = async (store: RefreshTokenStore, sessionId: string, now: number) => (await store.list('alice', now)).find((s) => s.sessionId === sessionId);

  const rotate = (store: RefreshTokenStore, r: Partial<RotateRequest> & Pick<RotateRequest, 'sessionId' | 'presentedHash'>) =>
    store.rotate({ successorHash: fakeHash('next'), now: T0 + 1000, reuseInterval: 0, ...r });

  S('insert, then get and list return the session without any hash', async ({ store }) => {
    const rec = newRecord('alice', { claims: { roles: ['admin'], n: 1 }, context: { ip: '198.51.100.1', device: 'Ø laptop ✓' } });
    const { evicted } = await store.insert(rec, { now: T0 });
    assert.equal(evicted, []);
    const got = await find(store, rec.sessionId, T0);
    assert.ok(got);
    assert.is(got.sessionId, rec.sessionId);
    assert.is(got.subject, 'alice');
    assert.is(got.generation, 0);
    assert.is(got.createdAt, T0);
    assert.is(got.lastRefreshedAt, T0);
    assert.is(got.expiresAt, rec.expiresAt);
    assert.equal(got.claims, { roles: ['admin'], n: 1 });
    assert.equal(got.context, { ip: '198.51.100.1', device: 'Ø laptop ✓' });
    assert.not.ok('tokenHash' in got);
    assert.not.ok('previousTokenHash' in got);
    const listed = await store.list('alice', T0);
    assert.is(listed.length, 1);
    assert.not.ok(JSON.stringify(listed).includes(rec.tokenHash));
    assert.equal(await store.list('nobody', T0), []);
  });

  S('list holds only the subject’s live sessions, newest first', async ({ store }) => {
    const a = newRecord('alice', { createdAt: T0 });
    const b = newRecord('alice', { createdAt: T0 + 5 });
    const c = newRecord('alice', { createdAt: T0 + 2, expiresAt: T0 + 100 });
    const other = newRecord('bob', { createdAt: T0 + 9 });
    for (const r of [a, b, c, other]) await store.insert(r, { now: T0 + 10 });
    assert.equal((await store.list('alice', T0 + 10)).map((s) => s.sessionId), [b.sessionId, c.sessionId, a.sessionId]);
    assert.equal((await store.list('alice', T0 + 100)).map((s) => s.sessionId), [b.sessionId, a.sessionId], 'expired session listed');
    assert.equal(await store.list('carol', T0), []);
  });

  S('rotate with the current hash swaps it, keeps the absolute expiry and slides the idle one', async ({ store }) => {
    const rec = newRecord('alice', { idleExpiresAt: T0 + HOUR });
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 30 * 60_000, idleTtl: HOUR });
    assert.is(r.status, 'rotated');
    if (r.status !== 'rotated') return;
    assert.is(r.session.generation, 1);
    assert.is(r.session.lastRefreshedAt, T0 + 30 * 60_000);
    assert.is(r.session.rotatedAt, T0 + 30 * 60_000);
    assert.is(r.session.expiresAt, rec.expiresAt, 'absolute expiry moved');
    assert.is(r.session.idleExpiresAt, T0 + 90 * 60_000);
    const again = await rotate(store, { sessionId: rec.sessionId, presentedHash: next, now: T0 + 40 * 60_000, idleTtl: HOUR });
    assert.is(again.status, 'rotated');
  });

  S('the idle deadline never passes the absolute expiry', async ({ store }) => {
    const rec = newRecord('alice', { expiresAt: T0 + HOUR, idleExpiresAt: T0 + HOUR / 2 });
    await store.insert(rec, { now: T0 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, now: T0 + HOUR / 4, idleTtl: HOUR });
    assert.is(r.status, 'rotated');
    if (r.status === 'rotated') assert.is(r.session.idleExpiresAt, T0 + HOUR);
  });

  S('rotate replaces claims and merges context', async ({ store }) => {
    const rec = newRecord('alice', { claims: { roles: ['user'], plan: 'free' }, context: { ip: '192.0.2.1', device: 'phone' } });
    await store.insert(rec, { now: T0 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, claims: { roles: ['admin'] }, context: { ip: '192.0.2.2' } });
    assert.is(r.status, 'rotated');
    if (r.status !== 'rotated') return;
    assert.equal(r.session.claims, { roles: ['admin'] });
    assert.equal(r.session.context, { ip: '192.0.2.2', device: 'phone' });
    assert.equal((await find(store, rec.sessionId, T0 + 1000))?.context, { ip: '192.0.2.2', device: 'phone' });
  });

  S('the previous hash within the reuse interval is grace and changes nothing', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    const g = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 3000, reuseInterval: 2000 });
    assert.is(g.status, 'grace');
    if (g.status === 'grace') assert.is(g.session.generation, 1);
    const current = await rotate(store, { sessionId: rec.sessionId, presentedHash: next, now: T0 + 4000, reuseInterval: 2000 });
    assert.is(current.status, 'rotated', 'the successor handed out in grace must keep working');
  });

  S('the previous hash after the interval is reuse and deletes the session', async ({ store, fx }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 3001, reuseInterval: 2000 });
    assert.equal(r, { status: 'reused', subject: 'alice' });
    assert.is(await find(store, rec.sessionId, T0 + 3001), undefined);
    assert.equal(await store.list('alice', T0 + 3001), []);
    assert.is((await rotate(store, { sessionId: rec.sessionId, presentedHash: next, now: T0 + 3002 })).status, 'not_found');
    if (fx.footprint) assert.is(await fx.footprint(), 0, 'reuse left keys behind');
  });

  S('with no reuse interval the previous hash is reuse even in the same millisecond', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    assert.is(r.status, 'reused');
  });

  S('the previous hash in the interval with another successor is a mismatch, not reuse', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: fakeHash(), now: T0 + 1500, reuseInterval: 2000 });
    assert.equal(r, { status: 'mismatch', subject: 'alice', tokenHash: next, generation: 1 });
    assert.ok(await find(store, rec.sessionId, T0 + 1500));
  });

  S('an unknown hash is a mismatch that leaves the session alone', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: fakeHash() });
    assert.equal(r, { status: 'mismatch', subject: 'alice', tokenHash: rec.tokenHash, generation: 0 });
    assert.is((await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash })).status, 'rotated');
  });

  // Issue 22: the manager tells an ancestor (two or more rotations back) from a branch by walking towards the current hash.
  S('a hash two rotations back is a mismatch even inside the reuse interval, with the current hash and generation', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const [h1, h2] = [fakeHash(), fakeHash()];
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: h1, now: T0 + 1000 });
    await rotate(store, { sessionId: rec.sessionId, presentedHash: h1, successorHash: h2, now: T0 + 1000 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: h1, now: T0 + 1000, reuseInterval: 60_000 });
    assert.equal(r, { status: 'mismatch', subject: 'alice', tokenHash: h2, generation: 2 });
    assert.is((await rotate(store, { sessionId: rec.sessionId, presentedHash: h2, now: T0 + 1001 })).status, 'rotated', 'a mismatch changed the session');
  });

  S('revokePrevious: false answers the previous hash after the interval as reuse and keeps the session', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 1000 });
    const r = await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, now: T0 + 3001, reuseInterval: 2000, revokePrevious: false });
    assert.equal(r, { status: 'reused', subject: 'alice', revoked: false });
    assert.is((await find(store, rec.sessionId, T0 + 3001))?.generation, 1);
    assert.is((await rotate(store, { sessionId: rec.sessionId, presentedHash: next, now: T0 + 3002 })).status, 'rotated');
  });

  // Issue 22: the optional device history (rememberDevice); a store without it skips these.
  const fp = (n: number) => `device-fingerprint-${String(n).padStart(3, '0')}`;
  S('rememberDevice: first, then new, then known; per subject', async ({ store }) => {
    if (store.rememberDevice === undefined) return;
    const o = { now: T0, ttl: HOUR, max: 5 };
    assert.is(await store.rememberDevice('alice', fp(1), o), 'first');
    assert.is(await store.rememberDevice('alice', fp(1), o), 'known');
    assert.is(await store.rememberDevice('alice', fp(2), o), 'new');
    assert.is(await store.rememberDevice('alice', fp(2), o), 'known');
    assert.is(await store.rememberDevice('bob', fp(1), o), 'first', 'another subject’s history');
    // Sessions are another matter: deleting them all does not forget the devices.
    await store.deleteAll('alice', T0);
    assert.is(await store.rememberDevice('alice', fp(1), o), 'known');
  });

  S('rememberDevice: bounded to the max most recently seen, and a device unseen for ttl is forgotten', async ({ store }) => {
    if (store.rememberDevice === undefined) return;
    for (let n = 1; n <= 4; n++) await store.rememberDevice('alice', fp(n), { now: T0 + n, ttl: HOUR, max: 3 });
    // fp(1) was the least recently seen of four with room for three.
    assert.is(await store.rememberDevice('alice', fp(1), { now: T0 + 10, ttl: HOUR, max: 3 }), 'new');
    // fp(2) went to make room for it: 3, 4 and 1 are kept.
    assert.is(await store.rememberDevice('alice', fp(4), { now: T0 + 11, ttl: HOUR, max: 3 }), 'known');
    assert.is(await store.rememberDevice('alice', fp(2), { now: T0 + 12, ttl: HOUR, max: 3 }), 'new');
    // Past the ttl since each was last seen: the history is empty again.
    assert.is(await store.rememberDevice('alice', fp(4), { now: T0 + 12 + HOUR, ttl: HOUR, max: 3 }), 'first');
  });

  S('rememberDevice refuses bad input with ERR_CLAIMS_INVALID before any work', async ({ store }) => {
    if (store.rememberDevice === undefined) return;
    const o = { now: T0, ttl: HOUR, max: 5 };
    for (const [subject, fingerprint, options] of [
      ['', fp(1), o],
      ['alice', 'short', o],
      ['alice', `${fp(1)}!`, o],
      ['alice', fp(1), { ...o, ttl: 0 }],
      ['alice', fp(1), { ...o, max: 0 }],
      ['alice', fp(1), { ...o, now: Number.NaN }],
      ['alice', fp(1), null],
    ] as const) {
      const code = await store.rememberDevice(subject, fingerprint, options as never).then(
        () => 'resolved',
        (error: { code?: string }) => error.code,
      );
      assert.is(code, 'ERR_CLAIMS_INVALID', JSON.stringify([subject, fingerprint, options]));
    }
    assert.is(await store.rememberDevice('alice', fp(1), o), 'first', 'a refused call recorded something');
  });

  S('rotate of an unknown session is not_found; past either deadline it is expired, marked idle when the idle one passed', async ({ store }) => {
    assert.is((await rotate(store, { sessionId: newRecord('x').sessionId, presentedHash: fakeHash() })).status, 'not_found');
    const abs = newRecord('alice', { expiresAt: T0 + 5000 });
    const idle = newRecord('alice', { idleExpiresAt: T0 + 5000 });
    // Both deadlines at once: the session's end, not an idle timeout.
    const both = newRecord('alice', { expiresAt: T0 + 5000, idleExpiresAt: T0 + 5000 });
    for (const [rec, expected] of [
      [abs, { status: 'expired' }],
      [idle, { status: 'expired', idle: true }],
      [both, { status: 'expired' }],
    ] as const) {
      await store.insert(rec, { now: T0 });
      assert.equal(await rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, now: T0 + 5000 }), expected);
      assert.is(await find(store, rec.sessionId, T0 + 5000), undefined);
    }
  });

  S('the per-subject cap evicts the oldest sessions in the same step', async ({ store }) => {
    const recs = [0, 1, 2].map((i) => newRecord('alice', { createdAt: T0 + i }));
    const other = newRecord('bob');
    await store.insert(other, { now: T0, maxSessionsPerSubject: 1 });
    assert.equal((await store.insert(recs[0]!, { now: T0, maxSessionsPerSubject: 2 })).evicted, []);
    assert.equal((await store.insert(recs[1]!, { now: T0, maxSessionsPerSubject: 2 })).evicted, []);
    assert.equal((await store.insert(recs[2]!, { now: T0 + 2, maxSessionsPerSubject: 2 })).evicted, [recs[0]!.sessionId]);
    assert.equal((await store.list('alice', T0 + 2)).map((s) => s.sessionId), [recs[2]!.sessionId, recs[1]!.sessionId]);
    const last = newRecord('alice', { createdAt: T0 + 3 });
    assert.equal((await store.insert(last, { now: T0 + 3, maxSessionsPerSubject: 1 })).evicted, [recs[1]!.sessionId, recs[2]!.sessionId]);
    assert.equal((await store.list('alice', T0 + 3)).map((s) => s.sessionId), [last.sessionId]);
    assert.is((await store.list('bob', T0 + 3)).length, 1, 'another subject was touched');
  });

  S('delete removes only the subject’s own session', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    assert.is(await store.delete('bob', rec.sessionId, T0), false);
    assert.ok(await find(store, rec.sessionId, T0));
    assert.is(await store.delete('alice', rec.sessionId, T0), true);
    assert.is(await store.delete('alice', rec.sessionId, T0), false);
    assert.is(await find(store, rec.sessionId, T0), undefined);
    assert.equal(await store.list('alice', T0), []);
  });

  // Guards defect #10.6: an insert whose reply never came (a stalled Redis) could evict a session that nobody then revoked.
  S('settleInsert: an insert that ran gives up its evicted ids (idempotently) and its own session; one that did not run never will', async ({ store, fx }) => {
    const old = newRecord('alice', { createdAt: T0 });
    await store.insert(old, { now: T0 });
    const late = newRecord('alice', { createdAt: T0 + 1 });
    const { evicted } = await store.insert(late, { now: T0 + 1, maxSessionsPerSubject: 1, receiptTtl: 60_000 });
    assert.equal(evicted, [old.sessionId]);
    assert.equal(await store.settleInsert('alice', late.sessionId, { now: T0 + 2, receiptTtl: 60_000 }), [old.sessionId]);
    assert.equal(await store.settleInsert('alice', late.sessionId, { now: T0 + 3, receiptTtl: 60_000 }), [old.sessionId], 'a second settle lost the ids');
    assert.equal(await store.list('alice', T0 + 3), [], 'the unacknowledged session survived');

    const kept = newRecord('alice', { createdAt: T0 + 4 });
    await store.insert(kept, { now: T0 + 4 });
    const never = newRecord('alice', { createdAt: T0 + 5 });
    assert.equal(await store.settleInsert('alice', never.sessionId, { now: T0 + 5, receiptTtl: 60_000 }), []);
    assert.equal((await store.insert(never, { now: T0 + 6, maxSessionsPerSubject: 1, receiptTtl: 60_000 })).evicted, [], 'a settled insert evicted');
    assert.equal((await store.list('alice', T0 + 6)).map((s) => s.sessionId), [kept.sessionId], 'a settled insert ran');

    const quiet = newRecord('alice', { createdAt: T0 + 7 });
    await store.insert(quiet, { now: T0 + 7 });
    assert.equal(await store.settleInsert('alice', quiet.sessionId, { now: T0 + 8, receiptTtl: 60_000 }), []);
    assert.equal((await store.list('alice', T0 + 8)).map((s) => s.sessionId), [kept.sessionId]);
    await store.deleteAll('alice', T0 + 8);
    void fx;
  });

  S('deleteAll removes every session of the subject and returns the live ones', async ({ store, fx }) => {
    const live = [newRecord('alice'), newRecord('alice', { createdAt: T0 + 1 })];
    const expired = newRecord('alice', { expiresAt: T0 + 10 });
    const other = newRecord('bob');
    for (const r of [...live, expired, other]) await store.insert(r, { now: T0 });
    const before = Date.now();
    const deleted = await store.deleteAll('alice', T0 + 10);
    assert.equal([...deleted.sessionIds].sort(), live.map((r) => r.sessionId).sort());
    // The store's own clock, not the caller's `now`: the one moment every node compares token issue times against.
    assert.ok(Number.isFinite(deleted.at) && Math.abs(deleted.at - before) < 60_000, `deleteAll reported ${deleted.at}`);
    assert.equal(await store.list('alice', T0), []);
    assert.is(await find(store, live[0]!.sessionId, T0), undefined);
    assert.is((await store.list('bob', T0)).length, 1);
    assert.equal((await store.deleteAll('alice', T0 + 10)).sessionIds, []);
    await store.deleteAll('bob', T0);
    if (fx.footprint) assert.is(await fx.footprint(), 0, 'deleteAll left keys behind');
  });

  S('100 concurrent rotations of one hash: exactly one wins', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    const results = await Promise.all(Array.from({ length: 100 }, () => rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next })));
    const statuses = results.map((r) => r.status);
    assert.is(statuses.filter((s) => s === 'rotated').length, 1, statuses.join());
    assert.ok(statuses.every((s) => s === 'rotated' || s === 'reused' || s === 'not_found'), statuses.join());
  });

  S('100 concurrent rotations within the reuse interval: one rotation, the rest grace', async ({ store }) => {
    const rec = newRecord('alice');
    await store.insert(rec, { now: T0 });
    const next = fakeHash();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => rotate(store, { sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: next, reuseInterval: 10_000 })),
    );
    const statuses = results.map((r) => r.status);
    assert.is(statuses.filter((s) => s === 'rotated').length, 1);
    assert.is(statuses.filter((s) => s === 'grace').length, 99);
  });

  S('1,000 concurrent inserts over 100 subjects with a cap of 5 leave exactly 5 each', async ({ store }) => {
    const subjects = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.insert(newRecord(subjects[i % 100]!, { createdAt: T0 + i }), { now: T0 + 1000, maxSessionsPerSubject: 5 })),
    );
    for (const subject of subjects) assert.is((await store.list(subject, T0 + 1000)).length, 5, subject);
  });

  S('expired sessions leave the backend on their own', async ({ store, fx }) => {
    const now = Date.now();
    await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + 60 }), { now });
    await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + 10 * HOUR, idleExpiresAt: now + 80 }), { now });
    await sleep(400);
    assert.equal(await store.list('alice', Date.now()), []);
    if (fx.footprint) assert.is(await fx.footprint(), 0, 'expired sessions still held');
  });

  S.run();
}

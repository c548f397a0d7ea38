import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError } from '../errors.js';
import type { RefreshTokenStore } from '../storage.js';
import type { UpstreamSelector } from '../upstream/types.js';
import { T0, fakeHash, newRecord, sleep } from './fixtures.js';
import type { StoreFactory, StoreFixture } from './store-suite.js';

const IDP = 'https://idp.example.com';
const OTHER_IDP = 'https://login.other.example';

/** The store's `findUpstream`, which this suite requires. */
function finder(store: RefreshTokenStore): (selector: UpstreamSelector, now: number) => Promise<{ subject: string; sessionId: string }[]> {
  assert.type(store.findUpstream, 'function', 'the store has no findUpstream');
  return (selector, now) => store.findUpstream!(selector, now);
}

const ids = (refs: { sessionId: string }[]): string[] => refs.map((r) => r.sessionId).sort();

async function refusedInput(call: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await call();
  } catch (error) {
    assert.instance(error, SessionError, what);
    assert.is((error as SessionError).code, 'ERR_CLAIMS_INVALID', what);
    assert.is((error as SessionError).reason, 'upstream', what);
    return;
  }
  assert.unreachable(`${what}: accepted`);
}

/**
 * The upstream links of a RefreshTokenStore that implements `findUpstream`
 * (issue 26 §1): a session opened for a provider's session keeps its
 * `upstream` identity, and is found by (issuer, sid) and by (issuer, sub)
 * while it lives, and no longer once it is gone by any path.
 */
export function testUpstreamStore(name: string, factory: StoreFactory): void {
  const S = suite<{ fx: StoreFixture; store: RefreshTokenStore }>(`${name}: RefreshTokenStore upstream links`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.store = ctx.fx.store;
  });
  S.after.each(async (ctx) => {
    await ctx.fx.close();
  });

  S('a linked session keeps its upstream identity; list shows it, and an unlinked one has none', async ({ store }) => {
    const linked = newRecord('alice', { upstream: { issuer: IDP, subject: 'idp-user-1', sessionId: 'sid-A' } });
    const noSid = newRecord('alice', { createdAt: T0 + 1, upstream: { issuer: IDP, subject: 'idp-user-1' } });
    const plain = newRecord('alice', { createdAt: T0 + 2 });
    for (const r of [linked, noSid, plain]) await store.insert(r, { now: T0 });
    const listed = await store.list('alice', T0);
    const by = new Map(listed.map((s) => [s.sessionId, s]));
    assert.equal(by.get(linked.sessionId)!.upstream, { issuer: IDP, subject: 'idp-user-1', sessionId: 'sid-A' });
    assert.equal(by.get(noSid.sessionId)!.upstream, { issuer: IDP, subject: 'idp-user-1' });
    assert.is(by.get(plain.sessionId)!.upstream, undefined);
  });

  S('found by (issuer, sid) and by (issuer, subject); other issuers, sids and subjects find nothing', async ({ store }) => {
    const find = finder(store);
    const a = newRecord('alice', { upstream: { issuer: IDP, subject: 'u1', sessionId: 'sid-A' } });
    const b = newRecord('alice', { createdAt: T0 + 1, upstream: { issuer: IDP, subject: 'u1', sessionId: 'sid-B' } });
    // Another local subject opened for the same provider user (an account linked twice): found too, with its own subject.
    const c = newRecord('alice-2', { upstream: { issuer: IDP, subject: 'u1', sessionId: 'sid-C' } });
    const foreign = newRecord('bob', { upstream: { issuer: OTHER_IDP, subject: 'u1', sessionId: 'sid-A' } });
    for (const r of [a, b, c, foreign]) await store.insert(r, { now: T0 });
    assert.equal(await find({ issuer: IDP, sessionId: 'sid-A' }, T0), [{ subject: 'alice', sessionId: a.sessionId }]);
    assert.equal(ids(await find({ issuer: IDP, subject: 'u1' }, T0)), ids([a, b, c]));
    assert.equal(await find({ issuer: OTHER_IDP, sessionId: 'sid-A' }, T0), [{ subject: 'bob', sessionId: foreign.sessionId }]);
    assert.equal(await find({ issuer: IDP, sessionId: 'sid-Z' }, T0), []);
    assert.equal(await find({ issuer: IDP, subject: 'u2' }, T0), []);
    assert.equal(await find({ issuer: `${IDP}/`, subject: 'u1' }, T0), [], 'an issuer is compared exactly');
    assert.equal(await find({ issuer: IDP, sessionId: 'u1' }, T0), [], 'a subject is not a sid');
  });

  S('a session ended by delete, deleteAll, reuse or expiry is no longer found', async ({ store }) => {
    const find = finder(store);
    const up = (sid: string) => ({ issuer: IDP, subject: 'u1', sessionId: sid });
    const deleted = newRecord('alice', { upstream: up('s1') });
    const reused = newRecord('alice', { upstream: up('s2') });
    const expiring = newRecord('alice', { upstream: up('s3'), expiresAt: T0 + 100 });
    const other = newRecord('bob', { upstream: up('s4') });
    for (const r of [deleted, reused, expiring, other]) await store.insert(r, { now: T0 });
    assert.is((await find({ issuer: IDP, subject: 'u1' }, T0)).length, 4);
    assert.ok(await store.delete('alice', deleted.sessionId, T0));
    const next = fakeHash();
    await store.rotate({ sessionId: reused.sessionId, presentedHash: reused.tokenHash, successorHash: next, now: T0 + 1, reuseInterval: 0 });
    assert.is((await store.rotate({ sessionId: reused.sessionId, presentedHash: reused.tokenHash, successorHash: fakeHash(), now: T0 + 2, reuseInterval: 0 })).status, 'reused');
    assert.equal(await find({ issuer: IDP, sessionId: 's1' }, T0 + 10), []);
    assert.equal(await find({ issuer: IDP, sessionId: 's2' }, T0 + 10), []);
    assert.is((await find({ issuer: IDP, sessionId: 's3' }, T0 + 10)).length, 1);
    assert.equal(await find({ issuer: IDP, sessionId: 's3' }, T0 + 100), [], 'an expired session is found');
    assert.equal(await find({ issuer: IDP, subject: 'u1' }, T0 + 100), [{ subject: 'bob', sessionId: other.sessionId }]);
    await store.deleteAll('bob', T0 + 100);
    assert.equal(await find({ issuer: IDP, subject: 'u1' }, T0 + 100), []);
  });

  S('a rotation keeps the link', async ({ store }) => {
    const find = finder(store);
    const rec = newRecord('alice', { upstream: { issuer: IDP, subject: 'u1', sessionId: 's1' } });
    await store.insert(rec, { now: T0 });
    const r = await store.rotate({ sessionId: rec.sessionId, presentedHash: rec.tokenHash, successorHash: fakeHash(), now: T0 + 1000, reuseInterval: 0, context: { device: 'phone' } });
    assert.is(r.status, 'rotated');
    assert.equal((await store.list('alice', T0 + 1000))[0]!.upstream, { issuer: IDP, subject: 'u1', sessionId: 's1' });
    assert.is((await find({ issuer: IDP, sessionId: 's1' }, T0 + 1000)).length, 1);
  });

  S('an evicted session (per-subject cap) is no longer found; its successor is', async ({ store }) => {
    const find = finder(store);
    const old = newRecord('alice', { upstream: { issuer: IDP, subject: 'u1', sessionId: 'old' } });
    const fresh = newRecord('alice', { createdAt: T0 + 5, upstream: { issuer: IDP, subject: 'u1', sessionId: 'new' } });
    await store.insert(old, { now: T0 });
    const { evicted } = await store.insert(fresh, { now: T0 + 5, maxSessionsPerSubject: 1 });
    assert.equal(evicted, [old.sessionId]);
    assert.equal(await find({ issuer: IDP, subject: 'u1' }, T0 + 5), [{ subject: 'alice', sessionId: fresh.sessionId }]);
  });

  S('an upstream identity or selector that is not bounded, well-formed text is refused (ERR_CLAIMS_INVALID, reason upstream)', async ({ store }) => {
    const find = finder(store);
    const bad: unknown[] = [
      null,
      'https://idp',
      { issuer: IDP },
      { issuer: '', subject: 'u' },
      { issuer: IDP, subject: 42 },
      { issuer: 'x'.repeat(513), subject: 'u' },
      { issuer: IDP, subject: 'u'.repeat(256) },
      { issuer: IDP, subject: 'u', sessionId: '' },
      { issuer: IDP, subject: 'u', sessionId: '\ud800' },
    ];
    for (const upstream of bad) await refusedInput(() => store.insert(newRecord('alice', { upstream: upstream as never }), { now: T0 }), `upstream ${JSON.stringify(upstream)}`);
    assert.equal(await store.list('alice', T0), [], 'a refused insert stored something');
    const badSelectors: unknown[] = [undefined, {}, { issuer: IDP }, { issuer: IDP, sessionId: 's', subject: 'u' }, { issuer: 1, sessionId: 's' }, { issuer: IDP, sessionId: 's'.repeat(256) }];
    for (const selector of badSelectors) await refusedInput(() => find(selector as never, T0), `selector ${JSON.stringify(selector)}`);
    // The longest accepted values round-trip.
    const longest = { issuer: `https://${'i'.repeat(504)}`, subject: 'ü'.repeat(255), sessionId: '\u{1F600}'.repeat(127) };
    const rec = newRecord('alice', { upstream: longest });
    await store.insert(rec, { now: T0 });
    assert.equal((await store.list('alice', T0))[0]!.upstream, longest);
    assert.equal(await find({ issuer: longest.issuer, sessionId: longest.sessionId }, T0), [{ subject: 'alice', sessionId: rec.sessionId }]);
  });

  S('linked sessions and their index entries leave the backend on their own', async ({ store, fx }) => {
    const now = Date.now();
    await store.insert(newRecord('alice', { createdAt: now, expiresAt: now + 60, upstream: { issuer: IDP, subject: 'u1', sessionId: 's1' } }), { now });
    await store.insert(newRecord('bob', { createdAt: now, expiresAt: now + 80, upstream: { issuer: IDP, subject: 'u2' } }), { now });
    await sleep(400);
    assert.equal(await finder(store)({ issuer: IDP, subject: 'u1' }, Date.now()), []);
    assert.equal(await store.list('alice', Date.now()), []);
    assert.equal(await store.list('bob', Date.now()), []);
    if (fx.footprint) assert.is(await fx.footprint(), 0, 'expired linked sessions or their index entries still held');
  });

  S.run();
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { clusterClient, clusterSlot, closeLater, ioredisMajors, keysUnder, makeManager, standaloneClient, teardown, assertTornDown, uniquePrefix } from './helpers.js';

/*
 * Issue 26 §1 on Redis: the upstream index sets live on slots of their own
 * and are written before the session; a lookup checks every id against the
 * link on its subject's slot, so a stale entry (an insert that never ran, a
 * session ended since, an id linked to something else) ends nothing.
 */

const IDP = 'https://idp.example.com';

for (const io of ioredisMajors) {
  const S = suite(`redis upstream links (${io.name})`);

  S('stale or foreign index entries match nothing; only the linked live session is found', async () => {
    const client = await standaloneClient(io);
    const prefix = uniquePrefix('upstale');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store });
    const linked = await m.create('alice', { upstream: { issuer: IDP, subject: 'u-1', sessionId: 'sid-A' } });
    const unlinked = await m.create('alice');
    const other = await m.create('bob', { upstream: { issuer: IDP, subject: 'u-2', sessionId: 'sid-B' } });
    const index = store.keys.upstreamIndex({ issuer: IDP, sessionId: 'sid-A' });
    const far = Date.now() + 3_600_000;
    // An insert that wrote its entry and then never ran; an unlinked live session; another provider session's session.
    const neverInserted = `${linked.sessionId.slice(0, -4)}${linked.sessionId.endsWith('ZZZZ') ? 'YYYY' : 'ZZZZ'}`;
    await client.zadd(index, far, neverInserted, far, unlinked.sessionId, far, other.sessionId);
    assert.equal(await store.findUpstream({ issuer: IDP, sessionId: 'sid-A' }, Date.now()), [{ sessionId: linked.sessionId, subject: 'alice' }]);
    assert.is(await m.revokeUpstream({ issuer: IDP, sessionId: 'sid-A' }), 1);
    assert.ok((await m.readAll('alice')).some((s) => s.sessionId === unlinked.sessionId), 'a stale entry ended an unlinked session');
    assert.is((await m.readAll('bob')).length, 1, 'a stale entry ended another provider session’s session');
    // The ended session's own entry is stale now too: a second logout finds nothing.
    assert.equal(await store.findUpstream({ issuer: IDP, sessionId: 'sid-A' }, Date.now()), []);
    await m.close();
  });

  S('kindOf knows the upstream keys; the index sets sit on other slots than the subject’s key', async () => {
    const client = await standaloneClient(io);
    const prefix = uniquePrefix('upkind');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: prefix }));
    const m = makeManager({ refreshTokenStore: store, broadcaster });
    const t = await m.create('carol', { upstream: { issuer: IDP, subject: 'u-3', sessionId: 'sid-C' } });
    const kinds = (await keysUnder(client, prefix)).map((key) => store.keys.kindOf(key)).sort();
    assert.equal(kinds, ['sessions', 'upstream', 'upstream-index', 'upstream-index']);
    const upstreamKey = store.keys.upstream(t.sessionId);
    assert.is(clusterSlot(upstreamKey), clusterSlot(store.keys.session(t.sessionId)), 'the link is not on its session’s slot');
    const bySid = store.keys.upstreamIndex({ issuer: IDP, sessionId: 'sid-C' });
    const bySub = store.keys.upstreamIndex({ issuer: IDP, subject: 'u-3' });
    assert.is.not(bySid, bySub);
    // Selectors that differ only in how their parts split never share a set.
    assert.is.not(store.keys.upstreamIndex({ issuer: 'a', sessionId: 'b:c' }), store.keys.upstreamIndex({ issuer: 'a:b', sessionId: 'c' }));
    assert.is.not(store.keys.upstreamIndex({ issuer: 'a', sessionId: 'x' }), store.keys.upstreamIndex({ issuer: 'a', subject: 'x' }));
    await m.deleteAll('carol');
    await m.close();
  });

  S('cluster: a logout found through another slot’s index ends the session on its own slot', async () => {
    const client = await clusterClient(io);
    const prefix = uniquePrefix('upcluster');
    const store = new RedisRefreshTokenStore(client, { keyPrefix: prefix });
    const m = makeManager({ refreshTokenStore: store });
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await m.create(`user-${i}`, { upstream: { issuer: IDP, subject: 'shared-user', sessionId: `sid-${i}` } }));
    const slots = new Set(sessions.map((s) => clusterSlot(store.keys.session(s.sessionId))));
    assert.ok(slots.size > 1, 'the subjects all landed on one slot');
    assert.is(await m.revokeUpstream({ issuer: IDP, subject: 'shared-user' }), 6);
    for (let i = 0; i < 6; i++) assert.equal(await m.readAll(`user-${i}`), []);
    await m.close();
  });

  S.run();
}

const end = suite('upstream teardown');
end.after(teardown);
end('teardown closes every client and stops every Redis server', assertTornDown);
end.run();

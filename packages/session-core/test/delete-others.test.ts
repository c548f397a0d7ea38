import { ReferenceBroadcaster, ReferenceRefreshTokenStore } from './reference-storage.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_INVALIDATED, type InvalidationEvent, type InvalidationReceiver } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';

const S = suite('deleteOthers');

S('ends every other session of the subject and keeps the named one working', async () => {
  const h = harness();
  const keep = await h.manager.create('alice');
  const others = [await h.manager.create('alice'), await h.manager.create('alice')];
  const bob = await h.manager.create('bob');
  const seen: Array<{ sessionId: string; reason: string }> = [];
  h.manager.on(SESSION_INVALIDATED, (e) => seen.push({ sessionId: e.sessionId, reason: e.reason }));

  assert.is(await h.manager.deleteOthers('alice', keep.sessionId), 2);

  for (const t of others) {
    await rejectsWith(h.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(h.manager.update(t.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
  }
  assert.equal(
    seen.map((e) => e.sessionId).sort(),
    others.map((t) => t.sessionId).sort(),
  );
  assert.ok(seen.every((e) => e.reason === 'deleted'));
  // The kept session is untouched: it still reads and rotates; another subject is untouched too.
  await h.manager.read(keep.accessToken);
  await h.manager.update(keep.refreshToken);
  await h.manager.read(bob.accessToken);
  assert.equal((await h.manager.readAll('alice')).map((s) => s.sessionId), [keep.sessionId]);
  assert.is(await h.manager.deleteOthers('alice', keep.sessionId), 0, 'nothing left to delete');
  await h.close();
});

S('is enforced on every other node at once, like deleteOne', async () => {
  const hub = new ReferenceBroadcaster();
  const a = harness({}, hub);
  const b = harness({ refreshTokenStore: a.store }, hub);
  const keep = await a.manager.create('alice');
  const other = await a.manager.create('alice');
  await b.manager.read(other.accessToken); // cached as verified on node b
  assert.is(await a.manager.deleteOthers('alice', keep.sessionId), 1);
  await rejectsWith(b.manager.read(other.accessToken), 'ERR_SESSION_REVOKED');
  await b.manager.read(keep.accessToken);
  await a.close();
  await b.close();
});

S('a keepSessionId that is no longer live (or another subject’s) keeps nothing of this subject', async () => {
  const h = harness();
  const gone = await h.manager.create('alice');
  await h.manager.deleteOne('alice', gone.sessionId);
  const bobs = await h.manager.create('bob');
  await h.manager.create('alice');
  await h.manager.create('alice');
  assert.is(await h.manager.deleteOthers('alice', gone.sessionId), 2);
  assert.is(await h.manager.deleteOthers('bob', (await h.manager.create('carol')).sessionId), 1);
  await rejectsWith(h.manager.read(bobs.accessToken), 'ERR_SESSION_REVOKED');
  await h.close();
});

S('a missing or malformed keepSessionId is refused before anything is deleted (guards against "keep nothing" by mistake)', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  for (const bad of [undefined, null, '', 'short', 42, `${t.sessionId}x`]) {
    await rejectsWith(h.manager.deleteOthers('alice', bad as never), 'ERR_CLAIMS_INVALID');
  }
  await rejectsWith(h.manager.deleteOthers('' as never, t.sessionId), 'ERR_CLAIMS_INVALID');
  await h.manager.read(t.accessToken);
  assert.is((await h.manager.readAll('alice')).length, 1);
  await h.close();
});

S('a store that cannot list answers ERR_STORAGE_UNAVAILABLE with the cause', async () => {
  const store = new ReferenceRefreshTokenStore();
  const broken = new Error('backend down');
  const h = harness({ refreshTokenStore: store });
  const keep = await h.manager.create('alice');
  store.list = async () => Promise.reject(broken);
  const error = await rejectsWith(h.manager.deleteOthers('alice', keep.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  assert.is(error.cause, broken);
  await h.close();
});

S('fails safe: a session whose delete failed is still revoked on this node and broadcast, the others are deleted, and the call rejects', async () => {
  const hub = new ReferenceBroadcaster();
  const store = new ReferenceRefreshTokenStore();
  const a = harness({ refreshTokenStore: store }, hub);
  const b = harness({ refreshTokenStore: store }, hub);
  const keep = await a.manager.create('alice');
  const unlucky = await a.manager.create('alice');
  const fine = await a.manager.create('alice');
  const remove = store.delete.bind(store);
  store.delete = async (subject, sessionId, now) => {
    if (sessionId === unlucky.sessionId) throw new Error('timeout: did it run?');
    return remove(subject, sessionId, now);
  };
  await rejectsWith(a.manager.deleteOthers('alice', keep.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  for (const manager of [a.manager, b.manager]) {
    await rejectsWith(manager.read(unlucky.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(manager.read(fine.accessToken), 'ERR_SESSION_REVOKED');
    await manager.read(keep.accessToken);
  }
  await rejectsWith(a.manager.update(fine.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
  await a.close();
  await b.close();
});

S('a broadcast that fails is reported (ERR_STORAGE_UNAVAILABLE) while the revocation is already in force here', async () => {
  const delivered: InvalidationEvent[] = [];
  let down = true;
  const flaky = {
    subscribe: (_receiver: InvalidationReceiver) => ({
      publish: async (event: InvalidationEvent) => {
        if (down) throw new Error('ECONNREFUSED');
        delivered.push(event);
      },
      ready: async () => undefined,
      close: async () => undefined,
    }),
  };
  const h = harness({ broadcaster: flaky });
  const keep = await h.manager.create('alice');
  const other = await h.manager.create('alice');
  await rejectsWith(h.manager.deleteOthers('alice', keep.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  await rejectsWith(h.manager.read(other.accessToken), 'ERR_SESSION_REVOKED');
  await rejectsWith(h.manager.update(other.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
  down = false;
  const deadline = Date.now() + 3000;
  while (delivered.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(delivered.map((e) => (e as { sessionId?: string }).sessionId), [other.sessionId]);
  await h.close();
});

S('a closed manager refuses with ERR_CONFIG_INVALID', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  await h.close();
  await rejectsWith(h.manager.deleteOthers('alice', t.sessionId), 'ERR_CONFIG_INVALID');
});

S.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';

const S = suite('read(): the verified-token cache');

S('a cached token is still checked for revocation on every hit', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  for (let i = 0; i < 3; i++) await h.manager.read(t.accessToken);
  await h.manager.deleteOne('alice', t.sessionId);
  await rejectsWith(h.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
  const u = await h.manager.create('alice');
  await h.manager.read(u.accessToken);
  await h.manager.deleteAll('alice');
  await rejectsWith(h.manager.read(u.accessToken), 'ERR_SESSION_REVOKED');
  await h.close();
});

S('a cached token is never served past its expiry (plus tolerance)', async () => {
  const h = harness({ accessTokenTtl: 60, clockTolerance: 5 });
  const t = await h.manager.create('alice');
  await h.manager.read(t.accessToken);
  h.clock.now = t.accessTokenExpiresAt * 1000 + 4999;
  await h.manager.read(t.accessToken);
  h.clock.now += 1;
  await rejectsWith(h.manager.read(t.accessToken), 'ERR_AUTH_TOKEN_EXPIRED');
  await h.close();
});

S('the cache is bounded and keeps working when full or disabled', async () => {
  for (const size of [0, 2]) {
    const h = harness({ verifiedTokenCacheSize: size });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => h.manager.create('alice')));
    for (let round = 0; round < 3; round++) for (const t of tokens) assert.is((await h.manager.read(t.accessToken)).sid, t.sessionId);
    await h.manager.deleteOne('alice', tokens[4]!.sessionId);
    await rejectsWith(h.manager.read(tokens[4]!.accessToken), 'ERR_SESSION_REVOKED');
    await h.close();
  }
});

S('revocation outlives the token by no more than its lifetime', async () => {
  const h = harness({ accessTokenTtl: 60, clockTolerance: 0 });
  const t = await h.manager.create('alice');
  await h.manager.deleteOne('alice', t.sessionId);
  assert.ok(h.cache.isSessionInvalidated(t.sessionId));
  assert.ok(h.cache.size === 1);
  await h.close();
});

S('isRevoked() answers synchronously for claims read earlier', async () => {
  const h = harness();
  const a = await h.manager.create('alice');
  const b = await h.manager.create('alice');
  const claimsA = await h.manager.read(a.accessToken);
  const claimsB = await h.manager.read(b.accessToken);
  assert.is(h.manager.isRevoked(claimsA), false);
  await h.manager.deleteOne('alice', a.sessionId);
  assert.is(h.manager.isRevoked(claimsA), true);
  assert.is(h.manager.isRevoked(claimsB), false);
  await h.manager.deleteAll('alice');
  assert.is(h.manager.isRevoked(claimsB), true);
  h.clock.now += 1; // the harness clock is frozen; real time moves on after deleteAll
  const c = await h.manager.create('alice');
  assert.is(h.manager.isRevoked(await h.manager.read(c.accessToken)), false, 'a session created after deleteAll');
  assert.is(h.manager.isRevoked({ sub: 'alice', sid: 'x', jti: 'no time in it' }), true, 'a jti without a time fails closed');
  await h.close();
});

S.run();

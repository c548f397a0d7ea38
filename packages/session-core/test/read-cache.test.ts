import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';
import { ReferenceInvalidAccessTokenCache } from './reference-storage.js';

/** The reference cache with the optional `version`, counting the lookups read() makes. */
class VersionedCache extends ReferenceInvalidAccessTokenCache {
  version = 0;
  lookups = 0;
  override invalidateSession(sessionId: string, ttl: number): void {
    super.invalidateSession(sessionId, ttl);
    this.version++;
  }
  override invalidateSubject(subject: string, at: number, ttl: number): void {
    super.invalidateSubject(subject, at, ttl);
    this.version++;
  }
  override isSessionInvalidated(sessionId: string): boolean {
    this.lookups++;
    return super.isSessionInvalidated(sessionId);
  }
}

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

S('with a versioned invalidation cache, a hit skips the lookups until an invalidation is recorded, by anyone', async () => {
  const cache = new VersionedCache();
  const a = harness({ invalidAccessTokenCache: cache });
  // A second manager on the same cache: what it records must reach the first one's cached tokens.
  const b = harness({ invalidAccessTokenCache: cache });
  const t = await a.manager.create('alice');
  const u = await a.manager.create('alice');
  for (const token of [t, u]) for (let i = 0; i < 3; i++) await a.manager.read(token.accessToken);
  const before = cache.lookups;
  for (let i = 0; i < 10; i++) await a.manager.read(t.accessToken);
  assert.is(cache.lookups, before, 'no lookup while nothing was recorded');
  // Recorded by the other manager, for another session: one lookup again, then none.
  await b.manager.deleteOne('alice', u.sessionId);
  await a.manager.read(t.accessToken);
  assert.is(cache.lookups, before + 1);
  await a.manager.read(t.accessToken);
  assert.is(cache.lookups, before + 1);
  await rejectsWith(a.manager.read(u.accessToken), 'ERR_SESSION_REVOKED');
  // Recorded straight into the cache, past every manager: still seen on the next hit.
  cache.invalidateSession(t.sessionId, 60_000);
  await rejectsWith(a.manager.read(t.accessToken), 'ERR_SESSION_REVOKED');
  const v = await a.manager.create('alice');
  await a.manager.read(v.accessToken);
  await a.manager.read(v.accessToken);
  cache.invalidateSubject('alice', a.clock.now, 60_000);
  await rejectsWith(a.manager.read(v.accessToken), 'ERR_SESSION_REVOKED');
  await a.close();
  await b.close();
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

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InvalidAccessTokenCache } from '../storage.js';
import { sleep } from './fixtures.js';

export interface CacheFixture {
  cache: InvalidAccessTokenCache;
  close: () => Promise<void>;
}

/** The contract of an InvalidAccessTokenCache: what it rejects, for how long. */
export function testInvalidAccessTokenCache(name: string, factory: () => Promise<CacheFixture>): void {
  const S = suite<{ fx: CacheFixture; cache: InvalidAccessTokenCache }>(`${name}: InvalidAccessTokenCache conformance`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.cache = ctx.fx.cache;
  });
  S.after.each(async (ctx) => {
    await ctx.fx.close();
  });

  S('a session stays invalidated for its ttl, then is forgotten', async ({ cache }) => {
    cache.invalidateSession('s1', 150);
    assert.ok(cache.isSessionInvalidated('s1'));
    assert.not.ok(cache.isSessionInvalidated('s2'));
    await sleep(400);
    assert.not.ok(cache.isSessionInvalidated('s1'));
  });

  S('a shorter ttl never shortens a longer one', async ({ cache }) => {
    cache.invalidateSession('s1', 60_000);
    cache.invalidateSession('s1', 50);
    await sleep(200);
    assert.ok(cache.isSessionInvalidated('s1'));
  });

  S('a subject keeps the latest moment and the longest ttl', async ({ cache }) => {
    assert.is(cache.subjectInvalidatedAt('alice'), undefined);
    cache.invalidateSubject('alice', 2000, 60_000);
    assert.is(cache.subjectInvalidatedAt('alice'), 2000);
    cache.invalidateSubject('alice', 1000, 60_000);
    assert.is(cache.subjectInvalidatedAt('alice'), 2000, 'an older moment won');
    cache.invalidateSubject('alice', 3000, 50);
    assert.is(cache.subjectInvalidatedAt('alice'), 3000);
    await sleep(200);
    assert.is(cache.subjectInvalidatedAt('alice'), 3000, 'the shorter ttl cut the entry short');
    assert.is(cache.subjectInvalidatedAt('bob'), undefined);
  });

  S('a subject entry is forgotten after its ttl', async ({ cache }) => {
    cache.invalidateSubject('alice', 1000, 100);
    await sleep(400);
    assert.is(cache.subjectInvalidatedAt('alice'), undefined);
  });

  S('a ttl of zero or less records nothing', async ({ cache }) => {
    cache.invalidateSession('s1', 0);
    cache.invalidateSubject('alice', 1, -5);
    assert.not.ok(cache.isSessionInvalidated('s1'));
    assert.is(cache.subjectInvalidatedAt('alice'), undefined);
  });

  S('a version, when the cache has one, changes with every invalidation it records', async ({ cache }) => {
    if (cache.version === undefined) return; // optional: without it, read() looks up on every cache hit
    const seen = new Set<number>([cache.version]);
    const recorded = (what: string) => {
      assert.type(cache.version, 'number', what);
      assert.not.ok(seen.has(cache.version!), `${what}: the version did not change`);
      seen.add(cache.version!);
    };
    cache.invalidateSession('s1', 60_000);
    recorded('a session');
    cache.invalidateSession('s2', 60_000);
    recorded('another session');
    cache.invalidateSubject('alice', 1000, 60_000);
    recorded('a subject');
    cache.invalidateSubject('alice', 2000, 60_000);
    recorded('a later moment for the subject');
  });

  S.run();
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isSessionError } from '../errors.js';
import { dpopReplayKey, type DpopReplayCache } from '../dpop/replay.js';
import { sleep } from './fixtures.js';

export interface ReplayCacheFixture {
  cache: DpopReplayCache;
  /** A second cache over the same backend (another node), when the backend is shared: a key remembered by one is replayed on the other. */
  peer?: DpopReplayCache;
  close: () => Promise<void>;
}

let counter = 0;
/** A replay key as verifyDpopProof's results give them, unique per call. */
const freshKey = () => dpopReplayKey({ jkt: 'A'.repeat(43), jti: `conformance-${process.pid}-${Date.now()}-${counter++}` });

/** The contract of a DpopReplayCache: one `fresh` per key within its ttl, atomically, and a coded refusal of bad input. */
export function testDpopReplayCache(name: string, factory: () => Promise<ReplayCacheFixture>): void {
  const S = suite<{ fx: ReplayCacheFixture }>(`${name}: DpopReplayCache conformance`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
  });
  S.after.each(async (ctx) => {
    await ctx.fx.close();
  });

  S('a key is fresh once, then replayed; another key is fresh', async ({ fx }) => {
    const key = freshKey();
    assert.is(await fx.cache.remember(key, 60_000), 'fresh');
    assert.is(await fx.cache.remember(key, 60_000), 'replayed');
    assert.is(await fx.cache.remember(key, 60_000), 'replayed');
    assert.is(await fx.cache.remember(freshKey(), 60_000), 'fresh');
  });

  S('of concurrent calls with one key, exactly one is fresh', async ({ fx }) => {
    const key = freshKey();
    const caches = [fx.cache, fx.peer ?? fx.cache];
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => caches[i % 2]!.remember(key, 60_000)));
    assert.is(outcomes.filter((o) => o === 'fresh').length, 1);
    assert.is(outcomes.filter((o) => o === 'replayed').length, 39);
  });

  S('a key is forgotten after its ttl', async ({ fx }) => {
    const key = freshKey();
    assert.is(await fx.cache.remember(key, 100), 'fresh');
    assert.is(await fx.cache.remember(key, 100), 'replayed');
    await sleep(300);
    assert.is(await fx.cache.remember(key, 100), 'fresh');
  });

  S('a key remembered on one node is replayed on the other (shared backends)', async ({ fx }) => {
    if (fx.peer === undefined) return; // a per-node cache: nothing is shared
    const key = freshKey();
    assert.is(await fx.cache.remember(key, 60_000), 'fresh');
    assert.is(await fx.peer.remember(key, 60_000), 'replayed');
    const other = freshKey();
    assert.is(await fx.peer.remember(other, 60_000), 'fresh');
    assert.is(await fx.cache.remember(other, 60_000), 'replayed');
  });

  S('a bad key or ttl is refused with a coded error, and nothing is remembered', async ({ fx }) => {
    const key = freshKey();
    for (const [k, ttl] of [[42, 1000], ['', 1000], ['x'.repeat(10_000), 1000], [key.slice(1), 1000], [`${key}=`, 1000], [key.replace(/^./, '{'), 1000], [key, 0], [key, -1], [key, Number.NaN], [key, Infinity], [key, '1000']] as const) {
      const error = await fx.cache.remember(k as never, ttl as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isSessionError(error), `remember(${typeof k}, ${String(ttl)}) was not refused with a coded error`);
    }
    assert.is(await fx.cache.remember(key, 60_000), 'fresh', 'a refused call remembered the key');
  });

  S.run();
}

import { dpopReplayKey } from '@jwt-session/session-core';
import { rejectsWith, sleep } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryDpopReplayCache } from '../src/index.js';

const S = suite('MemoryDpopReplayCache specifics');
const key = (jti: string) => dpopReplayKey({ jkt: 'A'.repeat(43), jti });

S('bounded: when full of live proofs, a new one is refused (fail closed) rather than an old one forgotten', async () => {
  const cache = new MemoryDpopReplayCache({ max: 3 });
  for (const jti of ['k1', 'k2', 'k3']) assert.is(await cache.remember(key(jti), 60_000), 'fresh');
  await rejectsWith(cache.remember(key('k4'), 60_000), 'ERR_STORAGE_UNAVAILABLE');
  // Nothing was forgotten to make room: every remembered proof is still a replay.
  for (const jti of ['k1', 'k2', 'k3']) assert.is(await cache.remember(key(jti), 60_000), 'replayed');
  assert.is(cache.size, 3);
  cache.close();
});

S('bounded: expired entries make room again', async () => {
  const cache = new MemoryDpopReplayCache({ max: 2 });
  assert.is(await cache.remember(key('a'), 50), 'fresh');
  assert.is(await cache.remember(key('b'), 50), 'fresh');
  await sleep(120);
  assert.is(await cache.remember(key('c'), 60_000), 'fresh');
  assert.is(await cache.remember(key('a'), 60_000), 'fresh');
  cache.close();
});

S('bad options are configuration errors', () => {
  for (const max of [0, -1, 1.5, Number.NaN, '10']) {
    assert.throws(
      () => new MemoryDpopReplayCache({ max: max as never }),
      (error: { code?: string }) => error.code === 'ERR_CONFIG_INVALID',
    );
  }
});

S.run();

import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisRefreshTokenStore } from '../src/index.js';
import { makeManager, teardown, track, uniquePrefix } from './helpers.js';

/*
 * Memory per session, measured on a server of its own: INFO used_memory
 * before and after N sessions, divided by N. Printed for the README, not a
 * benchmark; the assertion only catches a gross regression (a value stored
 * twice, a key that should not exist).
 */
const N = 10_000;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

const S = suite<{ server: RedisServer; client: Redis }>('memory per session');
S.before(async (ctx) => {
  ctx.server = await startRedis();
  ctx.client = track(new Redis(ctx.server.port));
});
S.after(async (ctx) => {
  await teardown();
  await ctx.server.stop();
});

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

for (const [label, perSubject] of [
  ['5 sessions per subject', 5],
  ['1 session per subject', 1],
] as const) {
  S(`${N} sessions, ${label}`, async ({ client }) => {
    const prefix = uniquePrefix('mem');
    const m = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }), refreshTokenIdleTtl: 7 * 86400 });
    await client.flushall();
    const before = await usedMemory(client);
    for (let batch = 0; batch < N; batch += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) => {
          const n = batch + i;
          return m.create(`user-${String(Math.floor(n / perSubject)).padStart(8, '0')}`, {
            claims: { roles: ['user'] },
            context: { ip: '203.0.113.42', userAgent: USER_AGENT },
          });
        }),
      );
    }
    const after = await usedMemory(client);
    const perSession = (after - before) / N;
    console.log(`  ${label}: ${Math.round(perSession)} bytes per session (used_memory +${after - before} for ${N}; claims {roles:['user']}, context ip + ${USER_AGENT.length}-char userAgent)`);
    assert.ok(perSession > 100 && perSession < 2048, `${perSession} bytes per session`);
    await client.flushall();
  });
}

S.run();

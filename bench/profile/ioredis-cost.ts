/**
 * CPU per command in this process for the ways a store can send a script
 * through ioredis (64 in flight, 11 arguments): a defineCommand script, a
 * plain evalsha, and call('EVALSHA') with and without a .catch — why
 * storage-redis sends EVALSHA through call(). Run:
 *   node --import tsx bench/profile/ioredis-cost.ts
 */
import { Redis } from 'ioredis';
import { redisServer, stopRedis } from '../lib/redis.js';
const server = await redisServer();
const c = new Redis(server.url);
c.defineCommand('tiny', { numberOfKeys: 1, lua: 'return 1' });
const sha = (await c.script('LOAD', 'return 1')) as string;
const ops: Record<string, () => Promise<unknown>> = {
  custom: () => (c as unknown as { tiny: (...a: unknown[]) => Promise<unknown> }).tiny('k', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
  evalsha: () => c.evalsha(sha, 1, 'k', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
  call: () => c.call('EVALSHA', sha, 1, 'k', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
  callCatch: () => c.call('EVALSHA', sha, 1, 'k', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10).catch((e) => { throw e; }),
};
for (let r = 0; r < 3; r++) for (const [name, op] of Object.entries(ops)) {
  const N = 40000;
  const c0 = process.cpuUsage();
  let i = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (i++ < N) await op(); }));
  const u = process.cpuUsage(c0);
  console.log(name.padEnd(8), ((u.user + u.system) / N).toFixed(2), 'µs CPU/op');
}
c.disconnect();
await stopRedis();

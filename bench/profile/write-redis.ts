/**
 * Profile target for case 4: create() (or update()) on the Redis store (or
 * the memory store), 64 in flight, for a few seconds; only that part is
 * profiled. Run:
 *   node --import tsx bench/profile/write-redis.ts [create|update] [redis|memory] && node bench/profile/summarize.mjs /tmp/write-redis.cpuprofile
 */
import { keySet, memoryManager } from '../lib/fixtures.js';
import { throughput } from '../lib/measure.js';
import { redisClient, stopRedis } from '../lib/redis.js';
import { redisManager } from '../cases/write.js';
import { profiled } from './inspect.js';

const op = process.argv[2] === 'update' ? 'update' : 'create';
try {
  const manager = process.argv[3] === 'memory' ? memoryManager(keySet('HS256')) : redisManager(keySet('HS256'), await redisClient());
  await manager.ready();
  const refresh: string[] = [];
  for (let w = 0; w < 64; w++) refresh.push((await manager.create(`chain-${w}`)).refreshToken);
  let n = 0;
  const run = op === 'create' ? () => manager.create(`user-${n++ % 10_000}`) : async (w: number) => void (refresh[w] = (await manager.update(refresh[w]!)).refreshToken);
  await throughput(run, 64, 1000);
  const c0 = process.cpuUsage();
  const rate = await profiled(`/tmp/write-redis.cpuprofile`, () => throughput(run, 64, 4000, 0));
  const c = process.cpuUsage(c0);
  console.log(`${op}: ${rate.toFixed(0)} ops/s, ${((c.user + c.system) / (rate * 4)).toFixed(0)} µs CPU/op in this process`);
} finally {
  await stopRedis();
}

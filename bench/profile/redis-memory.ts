/**
 * Redis used_memory per session for the layout in storage-redis (bench row 8c's
 * workload, on a server of its own), with MEMORY USAGE of one subject's key
 * and the value's size, to see where the bytes go. Run:
 *   node --import tsx bench/profile/redis-memory.ts [sessions]
 */
import { startRedis } from '@jwt-session/redis-harness';
import { Redis } from 'ioredis';
import { keySet } from '../lib/fixtures.js';
import { redisManager } from '../cases/write.js';

const N = Number(process.argv[2] ?? 100_000);
const server = await startRedis();
const client = new Redis(server.port);
try {
  const manager = redisManager(keySet('HS256'), client);
  await manager.ready();
  const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
  const before = await used();
  const prefix = `mem-${Date.now()}`;
  for (let i = 0; i < N; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, N - i) }, (_, k) => manager.create(`${prefix}-${i + k}`, { claims: { roles: ['user'] }, context: { ip: '203.0.113.7' } })));
  }
  const after = await used();
  const [key] = (await client.scan('0', 'MATCH', '*:s:*', 'COUNT', 10))[1];
  console.log(`${N} sessions: ${((after - before) / N).toFixed(1)} B/session used_memory; keys ${await client.dbsize()}`);
  console.log(`one key: ${key} (${key!.length} chars), MEMORY USAGE ${await client.memory('USAGE', key!)}, value ${(await client.strlen(key!))} bytes`);
  await manager.close();
} finally {
  client.disconnect();
  await server.stop();
}

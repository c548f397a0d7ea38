/** Case 8: memory per session, in the memory store (heap) and in Redis (used_memory). */
import { runChild } from '../lib/child.js';
import { keySet } from '../lib/fixtures.js';
import { redisClient, usedMemory } from '../lib/redis.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';
import { redisManager } from './write.js';

export async function runMemory(ctx: BenchContext): Promise<Row[]> {
  const sessions = ctx.quick ? 10_000 : 100_000;
  const label = `${sessions / 1000}k`;
  ctx.log(`case 8: memory per session, ${label} sessions (memory store in a child process; Redis used_memory)`);
  const rows: Row[] = [];

  const mem = await runChild('memory', [JSON.stringify({ sessions })], ['--max-old-space-size=4096']);
  const memBytes = mem.bytesPerSession as number;
  const memGoal = { op: '<=' as const, value: 300, text: 'heap bytes per session' };
  rows.push({
    id: '8a', case: `memory store: heap per session at ${label} sessions (1 per subject, no context)`,
    candidate: { label: 'heap', value: memBytes, unit: 'B/session' },
    ratio: memBytes, ratioKind: 'absolute', goal: memGoal, status: judge(memBytes, memGoal),
    extra: { totalMiB: mem.totalMiB },
  });

  const client = await redisClient();
  const manager = redisManager(keySet('HS256'), client);
  await manager.ready();
  await client.flushall();
  const before = await usedMemory(client);
  const prefix = `mem-${Date.now()}`;
  for (let i = 0; i < sessions; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, sessions - i) }, (_, k) => manager.create(`${prefix}-${i + k}`)));
  }
  const after = await usedMemory(client);
  const redisBytes = (after - before) / sessions;
  const redisGoal = { op: '<=' as const, value: 250, text: 'Redis used_memory bytes per session' };
  rows.push({
    id: '8b', case: `Redis: used_memory per session at ${label} sessions (1 per subject, no context)`,
    candidate: { label: 'used_memory', value: redisBytes, unit: 'B/session' },
    ratio: redisBytes, ratioKind: 'absolute', goal: redisGoal, status: judge(redisBytes, redisGoal),
    extra: { keys: await client.dbsize(), usedMemoryDeltaMiB: (after - before) / 2 ** 20 },
  });
  await manager.close();
  await client.flushall();
  return rows;
}

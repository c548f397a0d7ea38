/**
 * Case 8: memory per session, in the memory store (heap) and in Redis
 * (used_memory): 8b as issue 6 set it (no claims, no context), 8c with the
 * claims and context of issue 11's row.
 */
import { runChild } from '../lib/child.js';
import { keySet } from '../lib/fixtures.js';
import { redisClient, usedMemory } from '../lib/redis.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';
import type { CreateOptions } from '@jwt-session/session-core';
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
  /** used_memory per session of `sessions` creates, one per subject, on an emptied server. */
  const redisPerSession = async (options: CreateOptions) => {
    await client.flushall();
    const before = await usedMemory(client);
    const prefix = `mem-${Date.now()}`;
    for (let i = 0; i < sessions; i += 64) {
      await Promise.all(Array.from({ length: Math.min(64, sessions - i) }, (_, k) => manager.create(`${prefix}-${i + k}`, options)));
    }
    const after = await usedMemory(client);
    return { bytes: (after - before) / sessions, keys: await client.dbsize(), usedMemoryDeltaMiB: (after - before) / 2 ** 20 };
  };
  const redisRow = (id: string, what: string, measured: { bytes: number; keys: number; usedMemoryDeltaMiB: number }, limit?: number): Row => {
    const goal = limit === undefined ? undefined : { op: '<=' as const, value: limit, text: 'Redis used_memory bytes per session' };
    return {
      id, case: `Redis: used_memory per session at ${label} sessions (1 per subject, ${what})`,
      candidate: { label: 'used_memory', value: measured.bytes, unit: 'B/session' },
      ratio: measured.bytes, ratioKind: 'absolute', goal, status: judge(measured.bytes, goal),
      extra: { keys: measured.keys, usedMemoryDeltaMiB: measured.usedMemoryDeltaMiB },
    };
  };
  // 8b is a report row (issue 19 §4); 8c, with the claims and context apps store, keeps its line.
  rows.push(redisRow('8b', 'no claims, no context', await redisPerSession({})));
  rows.push(redisRow('8c', "claims {roles:['user']}, context {ip}", await redisPerSession({ claims: { roles: ['user'] }, context: { ip: '203.0.113.7' } }), 360));
  await manager.close();
  await client.flushall();
  return rows;
}

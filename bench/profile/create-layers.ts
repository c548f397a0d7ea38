/**
 * Case 4a taken apart: create() on the memory store, create() with the store
 * replaced by a bare Map write (the manager's own cost), and the floor of
 * create() (lib/floors.ts), 64 in flight, rounds interleaved. Run:
 *   node --import tsx bench/profile/create-layers.ts [rounds]
 */
import type { RefreshTokenStore } from '@jwt-session/session-core';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { createFloor } from '../lib/floors.js';
import { throughput } from '../lib/measure.js';
import { median } from '../lib/stats.js';

const keys = keySet('HS256');
const real = memoryManager(keys);
const written = new Map<string, unknown>();
const bareStore: RefreshTokenStore = {
  insert: async (session) => {
    written.set(session.sessionId, session);
    return { evicted: [] };
  },
  settleInsert: async () => [],
  rotate: async () => ({ status: 'not_found' }),
  list: async () => [],
  delete: async () => false,
  deleteAll: async () => ({ sessionIds: [], at: Date.now() }),
};
const bare = memoryManager(keys, { refreshTokenStore: bareStore });
await real.ready();
await bare.ready();
let n = 0;
const layers: Record<string, () => Promise<unknown>> = {
  'memory store': () => real.create(`user-${n++ % 10_000}`),
  'bare Map store': () => bare.create(`user-${n++ % 10_000}`),
  floor: createFloor(keys),
};
const rates: Record<string, number[]> = Object.fromEntries(Object.keys(layers).map((name) => [name, []]));
for (let round = 0; round < Number(process.argv[2] ?? 5); round++) {
  for (const [name, op] of Object.entries(layers)) rates[name]!.push(await throughput(op, 64, 600, 100));
}
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
for (const [name, r] of Object.entries(rates)) console.log(`${name.padEnd(15)} ${k(median(r))} ops/s (${r.map(k).join(' ')})`);
await real.close();
await bare.close();

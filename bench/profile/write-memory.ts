/**
 * Quick A/B for case 4a/4b: create() and update() on the memory store, 64 in
 * flight, ops/s per round (no baseline, no profiler). Run:
 *   node --import tsx bench/profile/write-memory.ts [rounds] [telemetry-off]
 */
import { keySet, memoryManager } from '../lib/fixtures.js';
import { throughput } from '../lib/measure.js';
import { median } from '../lib/stats.js';

const rounds = Number(process.argv[2] ?? 5);
const manager = memoryManager(keySet('HS256'), process.argv[3] === 'off' ? { telemetry: false } : {});
await manager.ready();
const refresh: string[] = [];
for (let w = 0; w < 64; w++) refresh.push((await manager.create(`chain-${w}`)).refreshToken);
let n = 0;
const create = () => manager.create(`user-${n++ % 10_000}`);
const update = async (w: number) => void (refresh[w] = (await manager.update(refresh[w]!)).refreshToken);
const c: number[] = [];
const u: number[] = [];
for (let r = 0; r < rounds; r++) {
  c.push(await throughput(create, 64, 600));
  u.push(await throughput(update, 64, 600));
}
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
console.log(`create ${k(median(c))} (${c.map(k).join(' ')})  update ${k(median(u))} (${u.map(k).join(' ')})`);
await manager.close();

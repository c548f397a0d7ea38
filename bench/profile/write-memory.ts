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
const cpu = { create: [] as number[], update: [] as number[] };
/** ops/s, and CPU µs per op of this process (steadier than ops/s on a shared machine). */
const timed = async (name: 'create' | 'update', op: (w: number) => Promise<unknown>) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rate = await throughput(op, 64, 600, 0);
  const used = process.cpuUsage(c0);
  cpu[name].push((used.user + used.system) / (rate * ((performance.now() - t0) / 1000)));
  return rate;
};
for (let r = 0; r < rounds; r++) {
  c.push(await timed('create', create));
  u.push(await timed('update', update));
}
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
const us = (x: number[]) => `${median(x).toFixed(1)} µs CPU/op`;
console.log(`create ${k(median(c))} (${c.map(k).join(' ')}) ${us(cpu.create)}  update ${k(median(u))} (${u.map(k).join(' ')}) ${us(cpu.update)}`);
await manager.close();

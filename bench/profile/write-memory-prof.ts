/**
 * Profile target for cases 4a/4b: create() or update() on the memory store,
 * 64 in flight, for 4 s. Run:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile/write-memory-prof.ts [create|update]
 */
import { keySet, memoryManager } from '../lib/fixtures.js';
import { throughput } from '../lib/measure.js';

const op = process.argv[2] === 'update' ? 'update' : 'create';
const manager = memoryManager(keySet('HS256'));
await manager.ready();
const refresh: string[] = [];
for (let w = 0; w < 64; w++) refresh.push((await manager.create(`chain-${w}`)).refreshToken);
let n = 0;
const run = op === 'create' ? () => manager.create(`user-${n++ % 10_000}`) : async (w: number) => void (refresh[w] = (await manager.update(refresh[w]!)).refreshToken);
const c0 = process.cpuUsage();
const rate = await throughput(run, 64, 4000, 500);
const c = process.cpuUsage(c0);
console.log(`${op}: ${rate.toFixed(0)} ops/s, ${((c.user + c.system) / (rate * 4.5)).toFixed(1)} µs CPU/op`);
await manager.close();

/**
 * A cold read() against the HMAC limit with the CPU caches warm (a tight
 * loop, as case 2 measures) and with them thrashed between calls (4 MiB of
 * data touched, a SHA-1 and a JSON.stringify: a stand-in for the rest of a
 * server's work), the thrash's own time subtracted. Run:
 *   node --import tsx bench/profile/read-cold-thrashed.ts
 */
import { keySet, memoryManager, mintTokens, hmacLimit } from '../lib/fixtures.js';
import { createHash } from 'node:crypto';
const keys = keySet('HS256');
const manager = memoryManager(keys);
await manager.ready();
const N = 4000, R = 7;
const toks = await mintTokens(keys, N * R * 2, 5_000_000);
const junk = new Float64Array(1 << 19); // 4 MiB
let sink = 0;
const thrash = () => { for (let i = 0; i < junk.length; i += 8) junk[i]! += 1; sink += createHash('sha1').update('x').digest()[0]!; sink += JSON.stringify({ a: [1, 2, 3], b: 'x' }).length; };
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const res: Record<string, number[]> = { readHot: [], limHot: [], readCold: [], limCold: [], thrashOnly: [] };
let off = 0;
for (let r = 0; r < R; r++) {
  for (const cold of [false, true]) {
    const p = toks.slice(off, off + N).map((t) => Buffer.from(t, 'latin1').toString('latin1')); off += N;
    const checks = p.map(hmacLimit);
    let t0 = performance.now(); for (let i = 0; i < N; i++) { if (cold) thrash(); await manager.read(p[i]!); } const a = (performance.now() - t0) * 1000 / N;
    t0 = performance.now(); for (let i = 0; i < N; i++) { if (cold) thrash(); await checks[i]!(); } const b = (performance.now() - t0) * 1000 / N;
    if (cold) { t0 = performance.now(); for (let i = 0; i < N; i++) { thrash(); await null; } res.thrashOnly!.push((performance.now() - t0) * 1000 / N); }
    res[cold ? 'readCold' : 'readHot']!.push(a); res[cold ? 'limCold' : 'limHot']!.push(b);
  }
}
const t = med(res.thrashOnly!);
console.log(`hot: read ${med(res.readHot!).toFixed(1)} µs, limit ${med(res.limHot!).toFixed(1)} µs; with a cache thrash between calls (thrash alone ${t.toFixed(1)} µs, subtracted): read ${(med(res.readCold!) - t).toFixed(1)} µs, limit ${(med(res.limCold!) - t).toFixed(1)} µs`);

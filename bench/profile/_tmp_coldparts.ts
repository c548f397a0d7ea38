import { keySet, memoryManager, mintTokens, hmacLimit } from '../lib/fixtures.js';
const keys = keySet('HS256');
const manager = memoryManager(keys);
await manager.ready();
const N = 20000, R = Number(process.argv[2] ?? 11);
const toks = await mintTokens(keys, N * R, 5_000_000);
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const ratios: number[] = [], reads: number[] = [], lims: number[] = [];
for (let r = 0; r < R; r++) {
  const p = toks.slice(r * N, (r + 1) * N).map((t) => Buffer.from(t, 'latin1').toString('latin1'));
  const checks = p.map(hmacLimit);
  const timeIt = async (f: (i: number) => unknown) => { const t0 = performance.now(); for (let i = 0; i < N; i++) await f(i); return ((performance.now() - t0) * 1000) / N; };
  let a, b;
  if (r % 2) { a = await timeIt((i) => manager.read(p[i]!)); b = await timeIt((i) => checks[i]!()); }
  else { b = await timeIt((i) => checks[i]!()); a = await timeIt((i) => manager.read(p[i]!)); }
  reads.push(a); lims.push(b); ratios.push(b / a);
}
console.log(`read ${med(reads).toFixed(2)} µs, limit ${med(lims).toFixed(2)} µs, ratio ${med(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);

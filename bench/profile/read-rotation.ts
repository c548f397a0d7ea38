/**
 * Profile target for case 3: read() hot over N distinct cached tokens, each
 * call with a fresh string copy. Only the timed part is profiled. Run:
 *   node --import tsx bench/profile/read-rotation.ts [N] [calls] && node bench/profile/summarize.mjs /tmp/read-rotation.cpuprofile
 */
import { profiled } from './inspect.js';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';

const count = Number(process.argv[2] ?? 100_000);
const calls = Number(process.argv[3] ?? 3_000_000);
const keys = keySet('HS256');
const manager = memoryManager(keys, { verifiedTokenCacheSize: Math.max(count, 100_000) });
await manager.ready();
const tokens = await mintTokens(keys, count);
for (let i = 0; i < count; i += 128) await Promise.all(tokens.slice(i, i + 128).map((t) => manager.read(t)));
const batch = 4096;
const copies = new Array<string>(batch);
let i = 0;
const t0 = performance.now();
await profiled('/tmp/read-rotation.cpuprofile', async () => {
  for (let done = 0; done < calls; done += batch) {
    for (let k = 0; k < batch; k++) copies[k] = Buffer.from(tokens[(i = i + 1 === count ? 0 : i + 1)]!, 'latin1').toString('latin1');
    for (let k = 0; k < batch; k++) await manager.read(copies[k]!);
  }
});
console.log(`${count} tokens: ${(((performance.now() - t0) * 1e6) / calls).toFixed(0)} ns/read (copies included)`);

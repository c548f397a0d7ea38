/**
 * Profile target for case 2: cold read() with the verified-token cache full at
 * its default size (100 000), so every read also evicts. Only the timed part
 * is profiled. Run:
 *   node --import tsx bench/profile/read-cold-full.ts && node bench/profile/summarize.mjs /tmp/read-cold-full.cpuprofile
 */
import { profiled } from './inspect.js';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';

const keys = keySet('HS256');
const manager = memoryManager(keys);
await manager.ready();
const fill = await mintTokens(keys, 100_000, 1_000_000);
// Two passes: the cache admits a token on its second verification.
for (let pass = 0; pass < 2; pass++) for (let i = 0; i < fill.length; i += 128) await Promise.all(fill.slice(i, i + 128).map((t) => manager.read(t)));
const tokens = await mintTokens(keys, 20_000);
const t0 = performance.now();
await profiled('/tmp/read-cold-full.cpuprofile', async () => {
  for (const t of tokens) await manager.read(t);
});
console.log(`cold read with a full cache: ${(((performance.now() - t0) * 1e3) / tokens.length).toFixed(1)} µs/op`);

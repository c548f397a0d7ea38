/**
 * Case 3, in its own process so that heap figures are not muddied by other
 * cases: read() hot with N distinct live tokens in rotation, against read()
 * of one token (case 1), alternating rounds; and the heap the verified-token
 * cache takes at the largest N.
 * argv: JSON { counts: number[], rounds: number, measureMs: number }
 */
import { alternate, freshCopies, pairedRatio } from '../lib/measure.js';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';
import { childMain, heapUsed, send } from '../lib/child-side.js';
import { median, opsPerSec } from '../lib/stats.js';

const config = JSON.parse(process.argv[2]!) as { counts: number[]; rounds: number; measureMs: number; quick: boolean };

childMain(async () => {
  const ctx = { quick: config.quick, rounds: config.rounds, measureMs: config.measureMs, log: () => undefined };
  const keys = keySet('HS256');
  const single = memoryManager(keys);
  await single.ready();
  const [one] = await mintTokens(keys, 1);
  // Twice: the cache admits a token on its second verification.
  await single.read(one!);
  await single.read(one!);
  const results = [];
  for (const count of config.counts) {
    const t0 = performance.now();
    const before = heapUsed();
    const tokens = await mintTokens(keys, count);
    const withTokens = heapUsed();
    // The cache must be able to hold them all for this to be a hot path: at least the default 100 000.
    const cacheSize = Math.max(count, 100_000);
    const manager = memoryManager(keys, { verifiedTokenCacheSize: cacheSize });
    await manager.ready();
    // Two passes: a token enters the cache on its second verification (the doorkeeper); in rotation every token is read again and again.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < count; i += 128) await Promise.all(tokens.slice(i, i + 128).map((t) => manager.read(t)));
    }
    const withCache = heapUsed();
    const setupSeconds = (performance.now() - t0) / 1000;
    let i = 0;
    const ns = await alternate(ctx, {
      // As in case 1, each call gets a fresh string copy of the token (made outside the timing).
      rotation: freshCopies(() => tokens[(i = i + 1 === count ? 0 : i + 1)]!, (t) => manager.read(t)),
      single: freshCopies(() => one!, (t) => single.read(t)),
    });
    const r = pairedRatio(ns.single!, ns.rotation!);
    results.push({
      count,
      cacheSize,
      rotationOps: opsPerSec(median(ns.rotation!)),
      singleOps: opsPerSec(median(ns.single!)),
      ratio: r.median,
      rounds: r.rounds,
      // Entries, claims objects and the Map itself; the token strings (the keys) are counted apart, as the tokens array holds them too.
      cacheBytesPerEntry: (withCache - withTokens) / count,
      keyBytesPerEntry: (withTokens - before) / count,
      cacheMiB: (withCache - withTokens) / 2 ** 20,
      keysMiB: (withTokens - before) / 2 ** 20,
      setupSeconds,
    });
    await manager.close();
    tokens.length = 0;
  }
  await send({ type: 'result', results });
}, true);

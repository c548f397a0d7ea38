/**
 * Redis CPU per call of the store's scripts (INFO commandstats usec_per_call),
 * one call in flight, on a server of its own: what each script costs Redis,
 * beside a bare `return 1` and the scripts' shared helpers alone. Run: node --import tsx bench/profile/lua-cost.ts
 */
import { startRedis } from '@jwt-session/redis-harness';
import { Redis } from 'ioredis';
import { INSERT, PRELUDE, ROTATE } from '../../packages/storage-redis/src/scripts.js';

const server = await startRedis();
const c = new Redis(server.port);
const key = 'p{abcd}:s:efghijk';
const id = 'abcdefghijk123456789012345';
const now = 1764415200000;
const N = 5000;
async function cost(lua: string, args: () => (string | number)[], keyOf: (i: number) => string = () => key): Promise<number> {
  const sha = (await c.script('LOAD', lua)) as string;
  for (let i = 0; i < 200; i++) await c.evalsha(sha, 1, keyOf(i), ...args());
  await c.config('RESETSTAT');
  for (let i = 0; i < N; i++) await c.evalsha(sha, 1, keyOf(i + 200), ...args());
  const info = await c.info('commandstats');
  return Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(info)![1]);
}
try {
  const results: Record<string, number[]> = { trivial: [], prelude: [], insert: [], rotate: [] };
  for (let round = 0; round < 3; round++) {
    results.trivial!.push(await cost('return 1', () => []));
    // The shared helpers defined, then nothing done: what every script pays before its own work.
    results.prelude!.push(await cost(`${PRELUDE}\nreturn 1`, () => []));
    await c.del(key);
    let n = 0;
    results.insert!.push(await cost(INSERT, () => [now, '', 1000, `${id.slice(0, 11)}${String(n++).padStart(15, '0')}`, 'subject-1', 'H'.repeat(43), now, now + 86400000, '', '{"roles":["user"]}', 'ip', '"203.0.113.7"'].map(String), (i) => `p{abcd}:s:${String(i).padStart(7, '0')}`));
    await c.flushall();
    await c.evalsha((await c.script('LOAD', INSERT)) as string, 1, key, now, '', 1000, id, 'subject-1', 'A', now, now + 86400000, '', '{"roles":["user"]}', 'ip', '"203.0.113.7"');
    let h = 0;
    results.rotate!.push(await cost(ROTATE, () => [now + 1, id, `h${h}`, `h${++h}`, 0, '', ''].map(String).map((v, i) => (i === 2 && h === 1 ? 'A' : v))));
  }
  for (const [name, values] of Object.entries(results)) console.log(`${name.padEnd(8)} ${values.map((v) => v.toFixed(2)).join(' / ')} µs per call`);
} finally {
  c.disconnect();
  await server.stop();
}

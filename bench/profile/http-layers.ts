/**
 * The http-guards group taken apart, for investigating: the apps named on the
 * command line (lib/http-apps.ts) in one server child, loaded in turn by
 * autocannon from here, rounds interleaved (order rotated every round).
 * Prints per app the median requests/s and server CPU µs per request, and
 * each app's ratio to the first one named. Run:
 *   node --import tsx bench/profile/http-layers.ts hot|cold ms rounds app1 app2 ...
 * Add PROFILE=1 to write a .cpuprofile of the server (node --cpu-prof, in /tmp/http-layers), then
 *   node bench/profile/summarize.mjs /tmp/http-layers/<file>.cpuprofile
 */
import { Child } from '../lib/child.js';
import { keySet, mintTokens } from '../lib/fixtures.js';
import { httpLoad } from '../lib/http-load.js';
import { median } from '../lib/stats.js';

const [mode = 'hot', msArg = '2000', roundsArg = '3', ...apps] = process.argv.slice(2);
const ms = Number(msArg);
const rounds = Number(roundsArg);
const execArgv = process.env.PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/http-layers'] : [];
const server = new Child('http-server', [JSON.stringify(apps)], execArgv);
const { ports } = (await server.next('ready', 60_000)) as unknown as { ports: Record<string, number> };
const tokens = await mintTokens(keySet('HS256'), mode === 'cold' ? 400_000 : 1);
const cursors = new Map<string, number>();
const cpu = async () => {
  server.send({ type: 'cpu' });
  return (await server.next('cpu')).micros as number;
};
const run = async (app: string, duration: number) => {
  let i = cursors.get(app) ?? 0;
  const token = mode === 'cold' ? () => tokens[i++ % tokens.length]! : tokens[0]!;
  const c0 = await cpu();
  const r = await httpLoad(ports[app]!, duration, app.endsWith('-plain') && mode === 'hot' ? tokens[0]! : token);
  const c1 = await cpu();
  cursors.set(app, i);
  if (r.failed > 0) console.log(`${app}: ${r.failed} failed`);
  return { rate: r.rate, cpu: (c1 - c0) / r.ok };
};
for (const app of apps) await run(app, Math.min(ms, 1500));
const results = new Map<string, { rate: number; cpu: number }[]>(apps.map((a) => [a, []]));
for (let r = 0; r < rounds; r++) {
  const order = apps.map((_, k) => apps[(k + r) % apps.length]!);
  if (r % 2 === 1) order.reverse();
  for (const app of order) results.get(app)!.push(await run(app, ms));
}
const base = results.get(apps[0]!)!;
for (const app of apps) {
  const xs = results.get(app)!;
  const ratios = xs.map((x, k) => x.rate / base[k]!.rate);
  console.log(
    `${app.padEnd(18)} ${median(xs.map((x) => x.rate)).toFixed(0).padStart(6)} req/s  cpu ${median(xs.map((x) => x.cpu)).toFixed(1).padStart(6)} µs/req  ÷${apps[0]} ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
  );
}
for (const [app, n] of cursors) if (mode === 'cold' && n > tokens.length) console.log(`${app}: tokens reused`);
await server.stop();

/**
 * `pnpm bench [--quick]`: every case side by side in one run, each figure a
 * ratio against a baseline measured in the same run. Prints one table and
 * writes bench/results.json. See bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTable } from './lib/table.js';
import { PASS_MARGIN, type BenchContext, type Row } from './lib/types.js';
import { runRead } from './cases/read.js';
import { runRotation } from './cases/rotation.js';
import { runWrite } from './cases/write.js';
import { runMemory } from './cases/memory.js';
import { runSocketIo } from './cases/socketio.js';
import { runPropagation } from './cases/propagation.js';
import { runTelemetry } from './cases/telemetry.js';
import { runDifferential } from './cases/differential.js';
import { runForgery } from './cases/forgery.js';
import { redisEvents, stopRedis } from './lib/redis.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const ctx: BenchContext = {
  quick,
  rounds: quick ? 3 : 5,
  measureMs: quick ? 60 : 400,
  log: (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
};

type Group = { name: string; run: (ctx: BenchContext) => Promise<Row[]> };
const groups: Group[] = [
  { name: 'read', run: runRead },
  { name: 'rotation', run: runRotation },
  { name: 'forgery', run: runForgery },
  { name: 'write', run: runWrite },
  { name: 'socketio', run: runSocketIo },
  { name: 'propagation', run: runPropagation },
  { name: 'memory', run: runMemory },
  { name: 'telemetry', run: runTelemetry },
  { name: 'differential', run: runDifferential },
  { name: 'burst', run: (ctx) => import('./cases/burst.js').then((m) => m.runBurst(ctx)) },
  { name: 'burst-jitter', run: (ctx) => import('./cases/burst.js').then((m) => m.runBurstJitter(ctx)) },
  { name: 'postgres', run: (ctx) => import('./cases/postgres.js').then((m) => m.runPostgres(ctx)) },
  { name: 'http', run: (ctx) => import('./cases/http-guards.js').then((m) => m.runHttpGuards(ctx)) },
  { name: 'fresh', run: (ctx) => import('./cases/fresh-guard.js').then((m) => m.runFreshGuard(ctx)) },
  { name: 'edge', run: (ctx) => import('./cases/edge.js').then((m) => m.runEdge(ctx)) },
  { name: 'dpop', run: (ctx) => import('./cases/dpop.js').then((m) => m.runDpop(ctx)) },
  { name: 'upstream-logout', run: (ctx) => import('./cases/upstream-logout.js').then((m) => m.runUpstreamLogout(ctx)) },
];

const started = Date.now();
// The machine is shared: the load average says how much of it others were using while this ran.
const load = () => loadavg().map((l) => Number(l.toFixed(2))) as [number, number, number];
const loadAtStart = load();
ctx.log(`load average ${loadAtStart.join(' ')} (1/5/15 min) on ${cpus().length} CPUs`);
const rows: Row[] = [];
let broken = false;
try {
  for (const group of groups) {
    if (only !== undefined && !only.includes(group.name)) continue;
    try {
      rows.push(...(await group.run(ctx)));
    } catch (error) {
      broken = true;
      ctx.log(`group ${group.name} failed: ${(error as Error).stack ?? String(error)}`);
      rows.push({ id: group.name, case: `${group.name}: harness error`, status: 'ERROR', note: `error: ${(error as Error).message}` });
    }
  }
} finally {
  await stopRedis();
}
// Table order: by case number.
rows.sort((a, b) => (parseInt(a.id, 10) || 99) - (parseInt(b.id, 10) || 99));

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  mode: quick ? 'quick' : 'full',
  rounds: ctx.rounds,
  measureMs: ctx.measureMs,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  loadAverage: { start: loadAtStart, end: load() },
  redisEvents,
};
writeFileSync(join(here, 'results.json'), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
process.stdout.write(
  `\njwt-session bench — ${meta.date}, Node ${meta.node}, ${meta.cpus} × ${meta.cpuModel}, ${meta.mode} run (${meta.rounds} rounds), ${meta.durationSeconds} s, ` +
    `load average ${meta.loadAverage.start.join('/')} at start, ${meta.loadAverage.end.join('/')} at end (1/5/15 min)\n\n`,
);
process.stdout.write(`${renderTable(rows)}\n\n`);
if (redisEvents.length > 0) process.stdout.write(`WARNING: ${redisEvents.join('\n')}\n`);
process.stdout.write(
  `ratio = median over rounds of (candidate ÷ baseline) measured back to back, range = smallest–largest round; PASS needs the median ${PASS_MARGIN * 100} % past the line; results in bench/results.json\n`,
);
process.exitCode = broken ? 1 : 0;

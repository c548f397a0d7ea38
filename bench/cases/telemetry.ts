/**
 * Case 12: the cost of OpenTelemetry on the hot path. read() of a token already
 * verified (a cache hit), with telemetry off (`telemetry: false`: nothing
 * loaded or wrapped) as the baseline, against the default (the API installed,
 * no SDK registered: the API's no-op instruments) and against an SDK meter
 * registered (every read() adds to a counter).
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { alternate, freshCopies, pairedRatio, type Benchable } from '../lib/measure.js';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';
import { median, opsPerSec } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

export async function runTelemetry(ctx: BenchContext): Promise<Row[]> {
  const keys = keySet('HS256');
  const meterProvider = new MeterProvider();
  const managers = {
    off: memoryManager(keys, { telemetry: false }),
    api: memoryManager(keys),
    sdk: memoryManager(keys, { telemetry: { meterProvider } }),
  };
  const [token] = await mintTokens(keys, 1);
  const fns: Record<string, Benchable> = {};
  for (const [name, manager] of Object.entries(managers)) {
    await manager.ready();
    // Verified twice: the cache admits a token on its second verification; every later read() is a hit.
    await manager.read(token!);
    await manager.read(token!);
    fns[name] = freshCopies(() => token!, (t) => manager.read(t));
  }
  const ns = await alternate(ctx, fns);
  for (const manager of Object.values(managers)) await manager.close();
  await meterProvider.shutdown();
  const off = { label: 'read() hot, telemetry: false', value: opsPerSec(median(ns.off!)), unit: 'ops/s' as const };
  const row = (id: string, name: 'api' | 'sdk', what: string, goal: Row['goal']): Row => {
    const r = pairedRatio(ns.off!, ns[name]!);
    return {
      id,
      case: `read() hot, HS256, ${what}, vs telemetry off`,
      candidate: { label: `read() hot, ${what}`, value: opsPerSec(median(ns[name]!)), unit: 'ops/s' },
      baseline: off,
      ratio: r.median,
      ratioKind: 'ops/s ÷ baseline ops/s',
      goal,
      status: judge(r.median, goal),
      rounds: r.rounds,
    };
  };
  return [
    // "Costs nothing measurable": within the noise of the same code with telemetry off.
    row('12a', 'api', '@opentelemetry/api installed, no SDK', { op: '>=', value: 0.9, text: 'read() ops/s with the API and no SDK ÷ telemetry off' }),
    row('12b', 'sdk', 'an SDK meter registered', undefined),
  ];
}

import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { Server } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attachSessionGuard } from '../src/index.js';
import { Cleanup, connect, makeManager, next, refused, startIo } from './support.js';

/*
 * The guard's OpenTelemetry instruments (issue 13), read back with the SDK's
 * in-memory exporter: handshake duration by outcome, and sockets under guard.
 */
const S = suite('guard telemetry');

function sdk(c: Cleanup) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  c.add(() => meterProvider.shutdown());
  const points = async (name: string) => {
    exporter.reset();
    await reader.forceFlush();
    const metric = exporter
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .find((m) => m.descriptor.name === name);
    return ((metric?.dataPoints ?? []) as DataPoint<number | Histogram>[]).map((p) => [p.attributes, p.value] as const);
  };
  return { meterProvider, points };
}

S('handshake duration by outcome, and the number of sockets under guard', async () => {
  const c = new Cleanup();
  try {
    const o = sdk(c);
    const manager = makeManager(c);
    const server = await startIo(c, manager, { guard: { telemetry: { meterProvider: o.meterProvider } } });
    const tokens = await manager.create('alice');
    const socket = await connect(c, server.url, { auth: { token: tokens.accessToken } });
    await refused(c, server.url, { auth: { token: 'not-a-token' } });
    const handshakes = await o.points('jwt_session.guard.handshake_duration');
    const byOutcome = Object.fromEntries(handshakes.map(([a, v]) => [a.outcome, (v as Histogram).count]));
    assert.equal(byOutcome, { accepted: 1, refused: 1 });
    assert.ok(handshakes.every(([, v]) => (v as Histogram).sum! >= 0));
    assert.equal((await o.points('jwt_session.guard.sockets')).map(([, v]) => v), [1]);
    const gone = next(socket, 'disconnect');
    await manager.deleteOne('alice', tokens.sessionId);
    await gone;
    assert.equal((await o.points('jwt_session.guard.sockets')).map(([, v]) => v), [0]);
  } finally {
    await c.run();
  }
});

S('a bad telemetry option fails at attach time, naming it; false turns the instruments off', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const io = new Server();
    c.add(() => io.close());
    for (const telemetry of [5, null, { meterProvider: {} }, { tracerProvider: { getTracer: 'no' } }]) {
      try {
        attachSessionGuard(io, manager, { telemetry: telemetry as never });
        assert.unreachable(JSON.stringify(telemetry));
      } catch (error) {
        assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID');
        assert.match((error as Error).message, /telemetry must be false or/);
      }
    }
    attachSessionGuard(io, manager, { telemetry: false }).close();
  } finally {
    await c.run();
  }
});

S.run();

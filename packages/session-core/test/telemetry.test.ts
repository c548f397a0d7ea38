import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionVerifier, JwtUserSessionManager, guardTelemetry, isSessionError, type RefreshTokenStore } from '../src/index.js';
import { AUDIENCE, HEADER, ISSUER, SECRET, claimsAt, codeOf, forge, harness } from './helpers.js';
import { ReferenceBroadcaster, ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';

/*
 * Metrics and spans through @opentelemetry/api, read back with the SDK's
 * in-memory exporter and span exporter: what the issue lists, and that no
 * token, subject or session id becomes an attribute.
 */

interface Sdk {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
  spans: InMemorySpanExporter;
  /** Every data point of `name` after a flush, as [attributes, value]. */
  points(name: string): Promise<[Record<string, unknown>, number | Histogram][]>;
  everything(): Promise<string>;
  close(): Promise<void>;
}

function sdk(): Sdk {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const collect = async () => {
    exporter.reset();
    await reader.forceFlush();
    return exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
  };
  return {
    meterProvider,
    tracerProvider,
    spans,
    async points(name) {
      const metric = (await collect()).find((m) => m.descriptor.name === name);
      return ((metric?.dataPoints ?? []) as DataPoint<number | Histogram>[]).map((p) => [p.attributes as Record<string, unknown>, p.value]);
    },
    async everything() {
      return JSON.stringify(await collect());
    },
    async close() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

const count = (points: [Record<string, unknown>, number | Histogram][], attributes: Record<string, unknown> = {}) =>
  points.filter(([a]) => Object.entries(attributes).every(([k, v]) => a[k] === v)).reduce((sum, [, v]) => sum + (typeof v === 'number' ? v : v.count), 0);

/** The API as the library loads it (require): one instance, whose proxy tracer provider would pass a later registration on. */
const api = createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api');
const { metrics, trace } = api;

const S = suite('OpenTelemetry: the manager');

S('reads, refreshes, sessions, revocations, store operations and cache sizes are reported; update() and store calls are spans', async () => {
  const o = sdk();
  const broadcaster = new ReferenceBroadcaster();
  const telemetry = { meterProvider: o.meterProvider, tracerProvider: o.tracerProvider };
  const a = harness({ telemetry, maxSessionsPerSubject: 1, refreshTokenReuseInterval: 0 }, broadcaster);
  const b = harness({ telemetry }, broadcaster);
  try {
    const first = await a.manager.create('alice');
    const second = await a.manager.create('alice'); // evicts the first
    for (let n = 0; n < 3; n++) await a.manager.read(second.accessToken); // verified twice (admitted on the second), then a hit
    assert.is(await codeOf(a.manager.read(first.accessToken)), 'ERR_SESSION_REVOKED');
    assert.is(await codeOf(a.manager.read('not.a.token')), 'ERR_AUTH_TOKEN_INVALID');
    a.clock.now += 3600_000;
    assert.is(await codeOf(a.manager.read(second.accessToken)), 'ERR_AUTH_TOKEN_EXPIRED');
    a.clock.now -= 3600_000;
    const rotated = await a.manager.update(second.refreshToken);
    assert.is(await codeOf(a.manager.update('garbage')), 'ERR_REFRESH_TOKEN_INVALID');
    assert.is(await codeOf(a.manager.update(second.refreshToken)), 'ERR_REFRESH_TOKEN_REUSED');
    const third = await a.manager.create('bob');
    await a.manager.deleteOne('bob', third.sessionId);
    await a.manager.deleteAll('carol');

    const reads = await o.points('jwt_session.reads');
    assert.is(count(reads, { outcome: 'verified' }), 2);
    assert.is(count(reads, { outcome: 'cache_hit' }), 1);
    assert.is(count(reads, { outcome: 'revoked' }), 1);
    assert.is(count(reads, { outcome: 'invalid' }), 1);
    assert.is(count(reads, { outcome: 'expired' }), 1);
    // Refusals are counted by reason too (#19 §2): one series per reason.
    assert.is(count(reads, { outcome: 'revoked', reason: 'session_revoked' }), 1);
    assert.is(count(reads, { outcome: 'invalid', reason: 'malformed' }), 1);
    assert.is(count(reads, { outcome: 'expired', reason: 'expired' }), 1);
    assert.ok(reads.every(([attributes]) => ('reason' in attributes) === !['verified', 'cache_hit'].includes(attributes.outcome as string)), 'a success carries no reason');
    const refreshes = await o.points('jwt_session.refreshes');
    assert.equal([count(refreshes, { outcome: 'rotated' }), count(refreshes, { outcome: 'invalid' }), count(refreshes, { outcome: 'reused' })], [1, 1, 1]);
    assert.equal([count(refreshes, { outcome: 'invalid', reason: 'format' }), count(refreshes, { outcome: 'reused', reason: 'reused_previous' })], [1, 1]);
    void rotated;
    assert.is(count(await o.points('jwt_session.sessions.created')), 3);
    assert.is(count(await o.points('jwt_session.sessions.evicted')), 1);
    const revocations = await o.points('jwt_session.revocations');
    // On a: evicted, reused and deleted sessions and carol's subject (local); on b the same four arrive (remote).
    for (const origin of ['local', 'remote']) {
      assert.is(count(revocations, { origin, reason: 'evicted' }), 1, origin);
      assert.is(count(revocations, { origin, reason: 'reused' }), 1, origin);
      assert.is(count(revocations, { origin, reason: 'deleted' }), 1, origin);
      assert.is(count(revocations, { origin, reason: 'subject' }), 1, origin);
    }
    const lag = await o.points('jwt_session.revocation.propagation_lag');
    assert.is(count(lag), 4, 'one lag sample per remote invalidation');
    const durations = await o.points('jwt_session.store.duration');
    for (const operation of ['insert', 'rotate', 'delete', 'deleteAll']) assert.ok(count(durations, { operation }) >= 1, operation);
    assert.ok(count(await o.points('jwt_session.verified_cache.size')) >= 0);
    const cacheSizes = await o.points('jwt_session.invalidation_cache.size');
    assert.ok(cacheSizes.length >= 1 && cacheSizes.every(([, v]) => typeof v === 'number' && v >= 1));

    const spans = o.spans.getFinishedSpans();
    const names = spans.map((s) => s.name);
    assert.ok(names.includes('jwt_session.update'));
    assert.ok(names.includes('jwt_session.store.rotate'));
    assert.ok(names.includes('jwt_session.store.insert'));
    const reused = spans.filter((s) => s.name === 'jwt_session.update' && s.attributes['jwt_session.error'] === 'ERR_REFRESH_TOKEN_REUSED');
    assert.is(reused.length, 1);
    assert.is(reused[0]!.status.code, 2);
    assert.is(reused[0]!.attributes['jwt_session.error.reason'], 'reused_previous');

    // Regression guard: nothing personal or secret in any attribute or metric.
    const exported = `${await o.everything()} ${JSON.stringify(spans.map((s) => s.attributes))}`;
    for (const secret of [first.accessToken, second.refreshToken, rotated.accessToken, second.sessionId, third.sessionId, 'alice', 'bob', 'carol', SECRET]) {
      assert.not.ok(exported.includes(secret), `exported telemetry contains ${secret.slice(0, 12)}…`);
    }
  } finally {
    await a.close();
    await b.close();
    await o.close();
  }
});

S('store failures are counted by operation; broadcast retries are counted', async () => {
  const o = sdk();
  const store = new ReferenceRefreshTokenStore();
  const failing: RefreshTokenStore = {
    insert: (...args) => store.insert(...args),
    settleInsert: (...args) => store.settleInsert(...args),
    rotate: (...args) => store.rotate(...args),
    delete: (...args) => store.delete(...args),
    deleteAll: (...args) => store.deleteAll(...args),
    list: async () => {
      throw new Error('down');
    },
  };
  let publishes = 0;
  const broadcaster = {
    subscribe: () => ({
      publish: async () => {
        if (publishes++ < 2) throw new Error('stream down');
      },
      ready: async () => undefined,
      close: async () => undefined,
    }),
  };
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
    issuer: ISSUER,
    audience: AUDIENCE,
    refreshTokenStore: failing,
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
    broadcaster,
    telemetry: { meterProvider: o.meterProvider },
  });
  try {
    assert.is(await codeOf(manager.readAll('alice')), 'ERR_STORAGE_UNAVAILABLE');
    assert.is(count(await o.points('jwt_session.store.errors'), { operation: 'list' }), 1);
    assert.is(await codeOf(manager.deleteAll('alice')), 'ERR_STORAGE_UNAVAILABLE');
    const deadline = Date.now() + 5000;
    while (publishes < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(count(await o.points('jwt_session.broadcast.retries')), 2);
  } finally {
    await manager.close();
    await o.close();
  }
});

S('default: the global providers as registered at construction; with none, the API\'s no-ops are skipped and an SDK registered later is not used', async () => {
  const early = harness();
  const o = sdk();
  assert.ok(metrics.setGlobalMeterProvider(o.meterProvider));
  assert.ok(trace.setGlobalTracerProvider(o.tracerProvider));
  const late = harness();
  try {
    for (const h of [early, late]) {
      const t = await h.manager.create('alice');
      assert.is((await h.manager.update(t.refreshToken)).sessionId, t.sessionId);
    }
    // Only `late` was made with an SDK behind the global providers.
    assert.is(count(await o.points('jwt_session.sessions.created')), 1);
    assert.is(count(await o.points('jwt_session.refreshes'), { outcome: 'rotated' }), 1);
    const names = o.spans.getFinishedSpans().map((s) => s.name);
    assert.is(names.filter((n) => n === 'jwt_session.update').length, 1);
    assert.is(names.filter((n) => n === 'jwt_session.store.insert').length, 1);
  } finally {
    metrics.disable();
    trace.disable();
    await early.close();
    await late.close();
    await o.close();
  }
});

S('telemetry: false reports nothing; a bad telemetry option fails at construction', async () => {
  const h = harness({ telemetry: false });
  const t = await h.manager.create('alice');
  assert.is((await h.manager.read(t.accessToken)).sub, 'alice');
  assert.is((await h.manager.update(t.refreshToken)).sessionId, t.sessionId);
  await h.close();
  for (const telemetry of [5, null, { meterProvider: {} }, { tracerProvider: 'x' }]) {
    try {
      harness({ telemetry: telemetry as never });
      assert.unreachable();
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'));
      assert.match((error as Error).message, /options\.telemetry/);
    }
  }
});

S('the verifier reports its reads and the remote revocations it applies, with their lag', async () => {
  const o = sdk();
  const broadcaster = new ReferenceBroadcaster();
  const h = harness({}, broadcaster);
  const v = new JwtSessionVerifier({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
    issuer: ISSUER,
    audience: AUDIENCE,
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
    broadcaster,
    telemetry: { meterProvider: o.meterProvider },
  });
  try {
    const t = await h.manager.create('alice');
    await v.read(t.accessToken);
    assert.is(await codeOf(v.read('x.y.z')), 'ERR_AUTH_TOKEN_INVALID');
    assert.is(await codeOf(v.read(forge(HEADER, claimsAt(Date.now(), { aud: 'another-api' })))), 'ERR_AUTH_TOKEN_INVALID');
    await h.manager.deleteOne('alice', t.sessionId);
    assert.is(await codeOf(v.read(t.accessToken)), 'ERR_SESSION_REVOKED');
    const reads = await o.points('jwt_session.reads');
    assert.equal([count(reads, { outcome: 'verified' }), count(reads, { outcome: 'invalid' }), count(reads, { outcome: 'revoked' })], [1, 2, 1]);
    assert.equal(
      [count(reads, { outcome: 'invalid', reason: 'malformed' }), count(reads, { outcome: 'invalid', reason: 'audience' }), count(reads, { outcome: 'revoked', reason: 'session_revoked' })],
      [1, 1, 1],
    );
    assert.is(count(await o.points('jwt_session.revocations'), { origin: 'remote', reason: 'deleted' }), 1);
    assert.is(count(await o.points('jwt_session.revocation.propagation_lag')), 1);
  } finally {
    await v.close();
    await h.close();
    await o.close();
  }
});

S('guardTelemetry: the Socket.IO guard\'s instruments (handshakes by outcome, sockets under guard); a bad option names itself', async () => {
  const o = sdk();
  try {
    const guard = guardTelemetry({ meterProvider: o.meterProvider });
    let sockets = 3;
    guard.trackSockets(() => sockets);
    guard.handshake(2.5, true);
    guard.handshake(1, false);
    const handshakes = await o.points('jwt_session.guard.handshake_duration');
    assert.is(count(handshakes, { outcome: 'accepted' }), 1);
    assert.is(count(handshakes, { outcome: 'refused' }), 1);
    assert.equal((await o.points('jwt_session.guard.sockets')).map(([, v]) => v), [3]);
    sockets = 0;
    assert.equal((await o.points('jwt_session.guard.sockets')).map(([, v]) => v), [0]);
    guard.close();
    guardTelemetry(false).handshake(1, true);
    try {
      guardTelemetry(7 as never);
      assert.unreachable();
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'));
      assert.match((error as Error).message, /options\.telemetry/);
    }
  } finally {
    await o.close();
  }
});

S.run();

import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isSessionError, type AccessTokenClaims } from '../src/index.js';
import { forge, harness, type Harness } from './helpers.js';

/*
 * Issue 27: readSync() is read() without the promise, for guards on a hot
 * path. Two managers on the same clock go through the same tokens, one with
 * read() and one with readSync(): same claims, same codes and reasons, same
 * telemetry.
 */
const S = suite('readSync(): read() without the promise');

type Answer = { claims: AccessTokenClaims } | { code: string; reason: unknown };

function answerOf(call: () => AccessTokenClaims): Answer {
  try {
    return { claims: call() };
  } catch (error) {
    if (!isSessionError(error)) throw error;
    return { code: error.code, reason: error.reason };
  }
}

async function asyncAnswerOf(call: () => Promise<AccessTokenClaims>): Promise<Answer> {
  try {
    return { claims: await call() };
  } catch (error) {
    if (!isSessionError(error)) throw error;
    return { code: error.code, reason: error.reason };
  }
}

function metered(): { meterProvider: MeterProvider; reads: () => Promise<string> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async reads() {
      exporter.reset();
      await reader.forceFlush();
      const metric = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.descriptor.name === 'jwt_session.reads');
      return JSON.stringify((metric?.dataPoints ?? []).map((p) => [p.attributes, p.value]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))));
    },
  };
}

S('same claims, codes, reasons and telemetry as read(): new, cached, forged, malformed, not a string, expired, revoked, after close()', async () => {
  const viaRead = metered();
  const viaSync = metered();
  const a: Harness = harness({ telemetry: { meterProvider: viaRead.meterProvider } });
  const b: Harness = harness({ telemetry: { meterProvider: viaSync.meterProvider } });
  b.clock.now = a.clock.now;
  try {
    const live = await a.manager.create('alice');
    const revoked = await a.manager.create('bob');
    const expiring = await a.manager.create('carol');
    // Both managers share the key, issuer and audience: a's tokens verify on b.
    await a.manager.deleteOne('bob', revoked.sessionId);
    await b.manager.deleteOne('bob', revoked.sessionId);
    const forged = forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, { sub: 'alice' }, 'another-secret-of-at-least-32-bytes!!');
    const tokens: unknown[] = [live.accessToken, live.accessToken, live.accessToken, forged, 'not.a.token', 42, revoked.accessToken];
    for (const token of tokens) {
      const expected = await asyncAnswerOf(() => a.manager.read(token as string));
      assert.equal(answerOf(() => b.manager.readSync(token as string)), expected, String(token).slice(0, 20));
    }
    a.clock.now += 3_600_000;
    b.clock.now = a.clock.now;
    assert.equal(answerOf(() => b.manager.readSync(expiring.accessToken)), await asyncAnswerOf(() => a.manager.read(expiring.accessToken)));
    assert.equal(await viaSync.reads(), await viaRead.reads());
    assert.match(await viaSync.reads(), /cache_hit/);
    await a.manager.close();
    await b.manager.close();
    assert.equal(answerOf(() => b.manager.readSync('a.b.c')), await asyncAnswerOf(() => a.manager.read('a.b.c')));
  } finally {
    await a.close();
    await b.close();
    await viaRead.meterProvider.shutdown();
    await viaSync.meterProvider.shutdown();
  }
});

S('it answers without a promise: a value or a throw, in the same turn', async () => {
  const h = harness();
  try {
    const { accessToken } = await h.manager.create('alice');
    const claims: unknown = h.manager.readSync(accessToken);
    assert.not.ok(claims instanceof Promise);
    assert.is((claims as AccessTokenClaims).sub, 'alice');
    assert.throws(() => h.manager.readSync('e30.e30.e30'), (error: unknown) => isSessionError(error) && error.code === 'ERR_AUTH_TOKEN_INVALID');
  } finally {
    await h.close();
  }
});

S.run();

import { SessionError, type JwtUserSessionManager, type SessionTokens } from '@jwt-session/session-core';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { closeLater, layoutProblems, ioredisMajors, makeManager, sleep, snapshot, teardown, track, uniquePrefix } from './helpers.js';

/*
 * Redis stopped (SIGKILL) and Redis not answering (SIGSTOP) under two managers
 * that share it. With the default commandTimeout (1000 ms) every storage call
 * must reject with ERR_STORAGE_UNAVAILABLE within the bound, read() must keep
 * working from each node's own state, revocations already received must stay
 * in force, and after recovery everything must work with consistent data.
 */
const BOUND = 1000;
const SLACK = 250;

interface Ctx {
  server: RedisServer;
  clientA: Redis;
  clientB: Redis;
  prefix: string;
  a: JwtUserSessionManager;
  b: JwtUserSessionManager;
  unhandled: unknown[];
  onUnhandled: (reason: unknown) => void;
}

async function until(check: () => Promise<boolean>, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const revoked = (m: JwtUserSessionManager, token: string) =>
  m.read(token).then(
    () => false,
    (error: unknown) => error instanceof SessionError && error.code === 'ERR_SESSION_REVOKED',
  );

/**
 * Timing and outcome of each storage-backed call while Redis is unavailable.
 * `sent`: what the error's cause must say about the command (see src/bounded.ts):
 * never sent while Redis is down, sent with an unknown outcome while it is paused.
 */
async function failingCalls(m: JwtUserSessionManager, live: SessionTokens, sent: boolean): Promise<Record<string, number>> {
  const calls: Record<string, () => Promise<unknown>> = {
    create: () => m.create('dave'),
    update: () => m.update(live.refreshToken),
    readAll: () => m.readAll('dave'),
    deleteOne: () => m.deleteOne('dave', live.sessionId),
    deleteAll: () => m.deleteAll('dave'),
  };
  const timings: Record<string, number> = {};
  await Promise.all(
    Object.entries(calls).map(async ([name, call]) => {
      const start = performance.now();
      const outcome = await call().then(
        () => undefined,
        (error: unknown) => error,
      );
      const took = Math.round(performance.now() - start);
      timings[name] = took;
      assert.instance(outcome, SessionError, `${name} did not fail`);
      assert.is((outcome as SessionError).code, 'ERR_STORAGE_UNAVAILABLE', name);
      assert.is(((outcome as Error).cause as { sent?: unknown } | undefined)?.sent, sent, `${name}: cause.sent`);
      assert.not.ok((outcome as Error).message.includes(live.refreshToken.split('.')[2]!), 'secret in the message');
      assert.ok(took <= BOUND + SLACK, `${name} took ${took} ms`);
    }),
  );
  return timings;
}

async function prepare(ctx: Ctx) {
  const keep = await ctx.a.create('alice');
  const gone = await ctx.a.create('alice');
  const carol = await ctx.a.create('carol');
  const dave = await ctx.b.create('dave');
  await ctx.a.deleteOne('alice', gone.sessionId);
  await ctx.a.deleteAll('carol');
  await until(() => revoked(ctx.b, gone.accessToken), 'B to receive deleteOne');
  await until(() => revoked(ctx.b, carol.accessToken), 'B to receive deleteAll');
  return { keep, gone, carol, dave };
}

async function stillServing(ctx: Ctx, t: Awaited<ReturnType<typeof prepare>>) {
  // Access tokens need no Redis; revocations already received stay in force.
  assert.is((await ctx.b.read(t.keep.accessToken)).sid, t.keep.sessionId);
  assert.is((await ctx.a.read(t.dave.accessToken)).sid, t.dave.sessionId);
  assert.ok(await revoked(ctx.b, t.gone.accessToken));
  assert.ok(await revoked(ctx.b, t.carol.accessToken));
  assert.ok(await revoked(ctx.a, t.gone.accessToken));
}

async function worksAgain(ctx: Ctx) {
  await until(async () => ctx.clientA.status === 'ready' && ctx.clientB.status === 'ready', 'clients to reconnect');
  const fresh = await ctx.a.create('erin', { context: { ip: '192.0.2.5' } });
  const next = await ctx.b.update(fresh.refreshToken);
  assert.is((await ctx.b.readAll('erin')).length, 1);
  assert.is(await ctx.a.deleteOne('erin', next.sessionId), true);
  await until(() => revoked(ctx.b, next.accessToken), 'B to receive a revocation after recovery');
  const check = layoutProblems(await snapshot(ctx.clientA, ctx.prefix));
  assert.equal(check.problems, [], 'the layout is broken after recovery');
}

for (const io of ioredisMajors) {
  const S = suite<Ctx>(`fail closed (${io.name})`);

  S.before(async (ctx) => {
    ctx.server = await startRedis({ args: ['--enable-debug-command', 'yes'] });
    ctx.unhandled = [];
    ctx.onUnhandled = (reason) => ctx.unhandled.push(reason);
    process.on('unhandledRejection', ctx.onUnhandled);
    ctx.prefix = uniquePrefix('fc');
    const node = (client: Redis) => {
      const store = new RedisRefreshTokenStore(client, { keyPrefix: ctx.prefix });
      const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: ctx.prefix }));
      return makeManager({ refreshTokenStore: store, broadcaster });
    };
    ctx.clientA = track(new io.Redis(ctx.server.port));
    ctx.clientB = track(new io.Redis(ctx.server.port));
    ctx.a = node(ctx.clientA);
    ctx.b = node(ctx.clientB);
    await Promise.all([ctx.a.ready(), ctx.b.ready()]);
  });

  S.after(async (ctx) => {
    await teardown();
    await ctx.server.stop();
    process.off('unhandledRejection', ctx.onUnhandled);
  });

  S('Redis killed: every storage call rejects within 1 s, reads and revocations hold, and all works after a restart', async (ctx) => {
    const t = await prepare(ctx);
    await ctx.server.kill();
    // Once the client has seen the connection drop, nothing is sent until it is back.
    await until(async () => ctx.clientB.status !== 'ready', 'B to see the connection drop');
    const timings = await failingCalls(ctx.b, t.dave, false);
    console.log(`  Redis killed, default commandTimeout ${BOUND} ms → ERR_STORAGE_UNAVAILABLE after: ${JSON.stringify(timings)}`);
    await stillServing(ctx, t);
    await ctx.server.restart();
    await worksAgain(ctx);
    assert.equal(ctx.unhandled, []);
  });

  S('Redis paused (SIGSTOP): every storage call rejects within 1 s, reads and revocations hold, and all works after SIGCONT', async (ctx) => {
    const t = await prepare(ctx);
    ctx.server.pause();
    let timings: Record<string, number>;
    try {
      timings = await failingCalls(ctx.b, t.dave, true);
      await stillServing(ctx, t);
    } finally {
      ctx.server.resume();
    }
    console.log(`  Redis paused, default commandTimeout ${BOUND} ms → ERR_STORAGE_UNAVAILABLE after: ${JSON.stringify(timings)}`);
    await worksAgain(ctx);
    assert.equal(ctx.unhandled, []);
  });

  S('Redis busy in DEBUG SLEEP: a store call rejects within its commandTimeout', async (ctx) => {
    const store = new RedisRefreshTokenStore(ctx.clientA, { keyPrefix: ctx.prefix, commandTimeout: 200 });
    const admin = track(new io.Redis(ctx.server.port));
    // Long enough, and started early enough, that the store's call lands inside the sleep on a loaded machine.
    void admin.debug('SLEEP', '1.5').catch(() => undefined);
    await sleep(150);
    const start = performance.now();
    const error = await store.list('alice', Date.now()).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = performance.now() - start;
    assert.instance(error, SessionError);
    assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
    assert.ok(took < 200 + SLACK, `took ${took} ms`);
    await sleep(1400);
    await until(async () => Array.isArray(await store.list('alice', Date.now()).catch(() => undefined)), 'the store answers again');
  });

  S('a client without an offline queue, or one that never connected, also fails closed within the bound', async (ctx) => {
    const noQueue = track(new io.Redis(ctx.server.port, { enableOfflineQueue: false }));
    await until(async () => noQueue.status === 'ready', 'connect');
    const store = new RedisRefreshTokenStore(noQueue, { keyPrefix: ctx.prefix, commandTimeout: 300 });
    await ctx.server.kill();
    for (const client of [noQueue, track(new io.Redis(ctx.server.port))]) {
      const s = client === noQueue ? store : new RedisRefreshTokenStore(client, { keyPrefix: ctx.prefix, commandTimeout: 300 });
      const start = performance.now();
      const error = await s.list('alice', Date.now()).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(error, SessionError);
      assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
      assert.ok(performance.now() - start < 300 + SLACK);
    }
    // A client the caller has closed for good fails at once.
    const closed = track(new io.Redis(ctx.server.port, { lazyConnect: true }));
    closed.disconnect();
    const start = performance.now();
    const error = await new RedisRefreshTokenStore(closed).list('x', Date.now()).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
    assert.ok(performance.now() - start < 50);
    await ctx.server.restart();
    await until(async () => noQueue.status === 'ready', 'reconnect');
    // The first command after a restart may still meet a slow reconnect on a loaded machine: recovery, not its first attempt, is the point.
    await until(async () => (await store.list('nobody', Date.now()).catch(() => undefined))?.length === 0, 'the store answers again');
    assert.equal(ctx.unhandled, []);
  });

  S.run();
}

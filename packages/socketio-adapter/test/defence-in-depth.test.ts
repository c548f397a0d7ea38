import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RenewResult, SessionRevokedPayload } from '../src/index.js';
import { Cleanup, connect, makeManager, next, sleep, startIo } from './support.js';

const S = suite('defence in depth for live sockets (issue 10 defect 12)');

S('a revocation the cache knows but whose event never arrived still blocks the next event, which gets its ack answered', async () => {
  // Guards: the per-event guard only looked at what events had told it; a revocation applied to the
  // invalidation cache without an event (a lost broadcast) let every later event through.
  const c = new Cleanup();
  try {
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const manager = makeManager(c, { invalidAccessTokenCache: cache });
    const { io, url } = await startIo(c, manager);
    const handled: string[] = [];
    io.on('connection', (s) => s.on('work', (v: string, ack?: (r: unknown) => void) => {
      handled.push(v);
      ack?.('done');
    }));
    const tokens = await manager.create('alice');
    const other = await manager.create('bob');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    const bystander = await connect(c, url, { auth: { token: other.accessToken } });
    assert.is(await socket.timeout(2000).emitWithAck('work', 'before'), 'done');
    // What a node that missed the broadcast but whose cache was filled (e.g. on start-up) sees: no event at all.
    cache.invalidateSession(tokens.sessionId, 60_000);
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    const answer = await socket.timeout(2000).emitWithAck('work', 'after');
    assert.equal(answer, { ok: false, code: 'ERR_SESSION_REVOKED', message: 'the session has been revoked' });
    assert.equal(await revoked, { code: 'ERR_SESSION_REVOKED', reason: 'unverified' });
    await sleep(30);
    assert.equal(handled, ['before'], 'the event after the revocation never reached the handler');
    assert.not.ok(socket.connected);
    assert.is(await bystander.timeout(2000).emitWithAck('work', 'bob'), 'done', 'another session is untouched');
  } finally {
    await c.run();
  }
});

// Guards the default limit: a fixed 10 a minute signed out short-token apps
// with several tabs (each rotation renews every tab's socket). The default is
// a burst of 20, refilled at 20 a minute or 4 per token lifetime, whichever is faster.
S('default renewRateLimit: a burst of 20; refilled at 4 per token lifetime for short tokens, 20 a minute for long ones', async () => {
  const c = new Cleanup();
  try {
    let now = Date.now();
    for (const { ttl, oneBackMs } of [
      { ttl: 5, oneBackMs: 1250 }, // 4 per 5 s lifetime
      { ttl: 300, oneBackMs: 3000 }, // 20 per 60 s: 4 per 300 s would be slower
    ]) {
      const manager = makeManager(c, { clock: () => now, accessTokenTtl: ttl });
      const { url } = await startIo(c, manager, { guard: { clock: () => now } });
      const tokens = await manager.create('alice');
      const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
      const renew = async (): Promise<string> => {
        const r: RenewResult = await socket.timeout(2000).emitWithAck('session:renew', { token: tokens.accessToken });
        return r.ok ? 'ok' : r.code;
      };
      const codes: string[] = [];
      for (let i = 0; i < 21; i++) codes.push(await renew());
      assert.equal(codes, [...Array(20).fill('ok'), 'ERR_RATE_LIMITED'], `ttl ${ttl}: the burst`);
      now += oneBackMs - 100;
      assert.is(await renew(), 'ERR_RATE_LIMITED', `ttl ${ttl}: not yet`);
      now += 100;
      assert.is(await renew(), 'ok', `ttl ${ttl}: one back after ${oneBackMs} ms`);
      assert.is(await renew(), 'ERR_RATE_LIMITED', `ttl ${ttl}: only one`);
      socket.disconnect();
    }
  } finally {
    await c.run();
  }
});

S('session:renew is rate-limited per socket: beyond the bucket ERR_RATE_LIMITED, the socket stays, another socket is unaffected, the bucket refills', async () => {
  // Guards: every renewal is a signature check; one socket could make the server verify without bound.
  const c = new Cleanup();
  try {
    let now = Date.now();
    const manager = makeManager(c, { clock: () => now });
    const { url } = await startIo(c, manager, { guard: { clock: () => now, renewRateLimit: { max: 3, windowMs: 30_000 } } });
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    const second = await connect(c, url, { auth: { token: tokens.accessToken } });
    const renew = (s: typeof socket): Promise<RenewResult> => s.timeout(2000).emitWithAck('session:renew', { token: tokens.accessToken });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await renew(socket);
      codes.push(r.ok ? 'ok' : r.code);
    }
    assert.equal(codes, ['ok', 'ok', 'ok', 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED']);
    assert.ok(socket.connected);
    assert.is((await renew(second)).ok, true, 'the bucket is per socket');
    now += 10_000; // one third of the window: one renewal back
    assert.is((await renew(socket)).ok, true);
    const again = await renew(socket);
    assert.equal(again.ok ? 'ok' : again.code, 'ERR_RATE_LIMITED');
  } finally {
    await c.run();
  }
});

S.run();

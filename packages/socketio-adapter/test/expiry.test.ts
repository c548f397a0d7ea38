import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io';
import type { AuthContext, RenewResult, SessionExpiredPayload } from '../src/index.js';
import { Cleanup, connect, makeManager, next, sleep, startIo, VirtualScheduler } from './support.js';

const S = suite('expiry, renewal and the per-event guard');

/** exp has second granularity: start just after a second begins so a short-lived token has (almost) its full lifetime. */
async function atSecondStart(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 10);
}

function serverSocket(io: { once(event: 'connection', fn: (s: Socket) => void): unknown }): Promise<Socket> {
  return new Promise((resolve) => io.once('connection', resolve));
}

S('at the access token exp: session:expired, then disconnected (real time, 1 s tokens)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c, { accessTokenTtl: 1, clockTolerance: 0 });
    const { url } = await startIo(c, manager);
    await atSecondStart();
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    const disconnected = next<string>(socket, 'disconnect', 3000);
    const payload = await next<SessionExpiredPayload>(socket, 'session:expired', 3000);
    const late = Date.now() - tokens.accessTokenExpiresAt * 1000;
    assert.equal(payload, { code: 'ERR_AUTH_TOKEN_EXPIRED', expiresAt: tokens.accessTokenExpiresAt });
    assert.ok(late >= -5 && late < 500, `expired ${late} ms after exp`);
    assert.is(await disconnected, 'io server disconnect');
  } finally {
    await c.run();
  }
});

S('renewal in band pushes the expiry back (real time, 2 s tokens)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c, { accessTokenTtl: 2, clockTolerance: 0 });
    const { url } = await startIo(c, manager);
    await atSecondStart();
    const first = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: first.accessToken } });
    let expiredAt = 0;
    socket.on('session:expired', () => (expiredAt = Date.now()));
    // A token from a later second carries a later exp.
    await sleep(1100);
    const second = await manager.update(first.refreshToken);
    assert.ok(second.accessTokenExpiresAt > first.accessTokenExpiresAt);
    const result: RenewResult = await socket.timeout(2000).emitWithAck('session:renew', { token: second.accessToken });
    assert.equal(result, { ok: true, expiresAt: second.accessTokenExpiresAt });
    await sleep(Math.max(0, first.accessTokenExpiresAt * 1000 - Date.now()) + 100);
    assert.ok(socket.connected, 'still connected after the first token expired');
    assert.is(expiredAt, 0);
    await next(socket, 'disconnect', 3000);
    assert.ok(expiredAt >= second.accessTokenExpiresAt * 1000 - 2, 'expired at the renewed exp');
  } finally {
    await c.run();
  }
});

S('renew: ok (object or bare token) updates socket.data.auth; wrong sub, wrong session, invalid, revoked, missing and disabled are refused with codes and the socket stays', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    let disabled = false;
    const { io, url } = await startIo(c, manager, { guard: { users: { findOrCreate: (sub) => ({ id: sub, isDisabled: disabled }) }, renewRateLimit: { max: 100, windowMs: 60_000 } } });
    const mine = await manager.create('alice');
    const otherSession = await manager.create('alice');
    const otherUser = await manager.create('bob');
    const revoked = await manager.create('alice');
    const arrived = serverSocket(io);
    const socket = await connect(c, url, { auth: { token: mine.accessToken } });
    const server = await arrived;
    const renew = (payload: unknown): Promise<RenewResult> => socket.timeout(2000).emitWithAck('session:renew', payload);

    const fresh = await manager.update(mine.refreshToken, { claims: { roles: ['admin'] } });
    assert.equal(await renew({ token: fresh.accessToken }), { ok: true, expiresAt: fresh.accessTokenExpiresAt });
    const auth = server.data.auth as AuthContext;
    assert.is(auth.role, 'admin', 'the context follows the new token');
    assert.is(auth.claims.jti, (await manager.read(fresh.accessToken)).jti);
    const again = await manager.update(fresh.refreshToken);
    assert.equal(await renew(again.accessToken), { ok: true, expiresAt: again.accessTokenExpiresAt });

    const refusals: [unknown, string][] = [
      [{ token: otherUser.accessToken }, 'ERR_SESSION_MISMATCH'],
      [{ token: otherSession.accessToken }, 'ERR_SESSION_MISMATCH'],
      [{ token: 'e30.e30.e30' }, 'ERR_AUTH_TOKEN_INVALID'],
      [{}, 'ERR_AUTH_TOKEN_REQUIRED'],
      [42, 'ERR_AUTH_TOKEN_REQUIRED'],
    ];
    await manager.deleteOne('alice', revoked.sessionId);
    refusals.push([{ token: revoked.accessToken }, 'ERR_SESSION_REVOKED']);
    for (const [payload, code] of refusals) {
      const result = await renew(payload);
      assert.is(result.ok, false);
      if (!result.ok) {
        assert.is(result.code, code);
        for (const t of [mine, otherSession, otherUser, revoked]) assert.not.ok(result.message.includes(t.accessToken));
      }
    }
    disabled = true;
    const disabledResult = await renew(again.accessToken);
    assert.equal(disabledResult.ok ? 'ok' : disabledResult.code, 'ERR_USER_DISABLED');
    // Only an ack, no payload; and no ack at all: neither may throw.
    const bare: RenewResult = await socket.timeout(2000).emitWithAck('session:renew');
    assert.equal(bare.ok ? 'ok' : bare.code, 'ERR_AUTH_TOKEN_REQUIRED');
    socket.emit('session:renew', { token: again.accessToken });
    await sleep(30);
    assert.ok(socket.connected);
    assert.is((server.data.auth as AuthContext).claims.jti, (await manager.read(again.accessToken)).jti);
  } finally {
    await c.run();
  }
});

S('per-event guard: once exp has passed, an event never reaches the handlers even if the timer has not fired', async () => {
  const c = new Cleanup();
  try {
    let now = Date.now();
    const clock = (): number => now;
    const manager = makeManager(c, { clock, accessTokenTtl: 60 });
    // A scheduler that never fires: only the per-event check can catch the expiry.
    const frozen = { setTimeout: () => 0, clearTimeout: () => undefined };
    const { io, url } = await startIo(c, manager, { guard: { clock, scheduler: frozen } });
    const handled: unknown[] = [];
    io.on('connection', (s) => s.on('work', (v: unknown, ack?: (r: unknown) => void) => {
      handled.push(v);
      ack?.('done');
    }));
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    assert.is(await socket.timeout(2000).emitWithAck('work', 1), 'done');
    now += 61_000;
    const expired = next<SessionExpiredPayload>(socket, 'session:expired');
    const result = await socket.timeout(2000).emitWithAck('work', 2);
    assert.equal(result, { ok: false, code: 'ERR_AUTH_TOKEN_EXPIRED', message: 'the access token has expired' });
    assert.is((await expired).code, 'ERR_AUTH_TOKEN_EXPIRED');
    await sleep(30);
    assert.equal(handled, [1]);
    assert.not.ok(socket.connected);
  } finally {
    await c.run();
  }
});

S('lifetimes past 2^31 ms: the guard chains its timer and expires the socket at exp, not 1 ms later (virtual time)', async () => {
  const c = new Cleanup();
  try {
    const v = new VirtualScheduler();
    v.time = Date.now();
    const clock = (): number => v.time;
    const days40 = 40 * 24 * 3600;
    const manager = makeManager(c, { clock, accessTokenTtl: days40, refreshTokenTtl: 2 * days40 });
    const { url } = await startIo(c, manager, { guard: { clock, scheduler: v } });
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    assert.ok(v.delays.length >= 1 && v.delays.every((d) => d <= 2 ** 31 - 1), `delays ${v.delays.join(',')}`);
    let expired = false;
    socket.on('session:expired', () => (expired = true));
    v.advance(25 * 24 * 3600 * 1000);
    await sleep(50);
    assert.not.ok(expired, 'not expired after 25 days');
    assert.ok(socket.connected);
    const done = next(socket, 'session:expired');
    v.advance(tokens.accessTokenExpiresAt * 1000 - v.time);
    await done;
  } finally {
    await c.run();
  }
});

S('sockets whose tokens share an exp share one timer, cleared once the last of them disconnects; each still expires at exp (virtual time)', async () => {
  const c = new Cleanup();
  try {
    const v = new VirtualScheduler();
    v.time = Date.now();
    const clock = (): number => v.time;
    const manager = makeManager(c, { clock, accessTokenTtl: 600 });
    const { url } = await startIo(c, manager, { guard: { clock, scheduler: v } });
    const first = await manager.create('alice');
    const second = await manager.create('bob');
    assert.is(first.accessTokenExpiresAt, second.accessTokenExpiresAt);
    const [a, b, d] = [
      await connect(c, url, { auth: { token: first.accessToken } }),
      await connect(c, url, { auth: { token: first.accessToken } }),
      await connect(c, url, { auth: { token: second.accessToken } }),
    ];
    assert.is(v.pending, 1, 'one timer for the three sockets');
    a.disconnect();
    b.disconnect();
    await sleep(50);
    assert.is(v.pending, 1, 'still one socket due then');
    const expired = next<SessionExpiredPayload>(d, 'session:expired');
    v.advance(first.accessTokenExpiresAt * 1000 - v.time);
    assert.equal(await expired, { code: 'ERR_AUTH_TOKEN_EXPIRED', expiresAt: first.accessTokenExpiresAt });
    assert.is(v.pending, 0);

    const third = await connect(c, url, { auth: { token: (await manager.create('carol')).accessToken } });
    assert.is(v.pending, 1);
    third.disconnect();
    await sleep(50);
    assert.is(v.pending, 0, 'no timer left behind for a socket that is gone');
  } finally {
    await c.run();
  }
});

S.run();

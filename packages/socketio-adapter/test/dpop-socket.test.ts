import { DpopNonces, type JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { socketAuth, type AuthError, type RenewResult, type SessionGuardOptions } from '../src/index.js';
import { handProof, makeKey, panvaKey, panvaProof, type TestKey } from './dpop-support.js';
import type { Socket as ClientSocket } from 'socket.io-client';
import { Cleanup, connect, makeManager, next, refused, sleep, startIo, until, type ClientOptions, type IoServer } from './support.js';

/*
 * RFC 9449 bound to Socket.IO: the handshake carries its proof in
 * `auth.dpop` (htu: the endpoint URL, `…/socket.io/`, no query; htm: GET),
 * and so does `session:renew`. Real servers, real socket.io-client.
 */

const S = suite('DPoP at the Socket.IO guard');

interface Ctx {
  c: Cleanup;
  manager: JwtUserSessionManager;
  server: IoServer;
  /** The endpoint URL a proof's htu names. */
  htu: string;
  key: TestKey;
  token: string;
  refreshToken: string;
  bearer: string;
  errors: AuthError[];
}

async function withGuard(dpop: Record<string, unknown> | false, run: (ctx: Ctx) => Promise<void>, extra: SessionGuardOptions = {}): Promise<void> {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const errors: AuthError[] = [];
    const guard: SessionGuardOptions = { onError: (error) => errors.push(error), ...extra };
    if (dpop !== false) {
      const replayCache = new MemoryDpopReplayCache();
      c.add(() => replayCache.close());
      guard.dpop = { replayCache, ...dpop };
    }
    const server = await startIo(c, manager, { guard });
    const key = makeKey();
    const tokens = await manager.create('alice', { dpop: { jkt: key.jkt } });
    const bearer = (await manager.create('bob')).accessToken;
    await run({ c, manager, server, htu: `${server.url}/socket.io/`, key, token: tokens.accessToken, refreshToken: tokens.refreshToken, bearer, errors });
  } finally {
    await c.run();
  }
}

const reasonOf = (ctx: Ctx) => ctx.errors.at(-1)?.reason;
const proofFor = (ctx: Ctx, overrides: Partial<Parameters<typeof handProof>[1]> = {}) => handProof(ctx.key, { htm: 'GET', htu: ctx.htu, accessToken: ctx.token, ...overrides });

async function refusedWith(ctx: Ctx, options: ClientOptions, code: string, reason: string): Promise<void> {
  const error = await refused(ctx.c, ctx.server.url, options);
  assert.is(error.data?.code, code);
  assert.is(reasonOf(ctx), reason);
}

S('a bound token with a proof by panva’s dpop package: connects over WebSocket and over polling (htu without the query)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const replayCache = new MemoryDpopReplayCache();
    c.add(() => replayCache.close());
    const server = await startIo(c, manager, { guard: { dpop: { replayCache } } });
    const key = await panvaKey();
    const { accessToken } = await manager.create('alice', { dpop: { jkt: key.jkt } });
    for (const transports of [['websocket'], ['polling']]) {
      const dpop = await panvaProof(key, `${server.url}/socket.io/`, 'GET', accessToken);
      const socket = await connect(c, server.url, { transports, auth: { token: accessToken, dpop } });
      assert.ok(socket.connected);
    }
    const [serverSocket] = await server.io.fetchSockets();
    assert.is((serverSocket!.data as { auth: { userId: string } }).auth.userId, 'alice');
  } finally {
    await c.run();
  }
});

S('no downgrade: a bound token without a proof, or under Bearer with one, is refused (binding)', () =>
  withGuard({}, async (ctx) => {
    await refusedWith(ctx, { auth: { token: ctx.token } }, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    await refusedWith(ctx, { extraHeaders: { authorization: `Bearer ${ctx.token}`, dpop: proofFor(ctx) } }, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    // The same token as `DPoP` with its proof in the header (a non-browser client) passes.
    assert.ok((await connect(ctx.c, ctx.server.url, { extraHeaders: { authorization: `DPoP ${ctx.token}`, dpop: proofFor(ctx) } })).connected);
  }),
);

S('htm, htu, ath, iat, typ and the key: each broken alone refuses the handshake with its reason', () =>
  withGuard({}, async (ctx) => {
    const other = makeKey();
    const cases: Array<[string, string, string]> = [
      [proofFor(ctx, { htm: 'POST' }), 'ERR_DPOP_PROOF_INVALID', 'htm'],
      [proofFor(ctx, { htu: `${ctx.server.url}/other/` }), 'ERR_DPOP_PROOF_INVALID', 'htu'],
      [proofFor(ctx, { accessToken: ctx.bearer }), 'ERR_DPOP_PROOF_INVALID', 'ath'],
      [proofFor(ctx, { iat: Math.floor(Date.now() / 1000) - 120 }), 'ERR_DPOP_PROOF_INVALID', 'iat'],
      [proofFor(ctx, { typ: 'JWT' }), 'ERR_DPOP_PROOF_INVALID', 'type'],
      [handProof(other, { htm: 'GET', htu: ctx.htu, accessToken: ctx.token }), 'ERR_DPOP_BINDING_MISMATCH', 'binding'],
    ];
    for (const [dpop, code, reason] of cases) await refusedWith(ctx, { auth: { token: ctx.token, dpop } }, code, reason);
  }),
);

S('two proofs (auth.dpop and a DPoP header, or a list) are refused (multiple_headers)', () =>
  withGuard({}, async (ctx) => {
    await refusedWith(ctx, { auth: { token: ctx.token, dpop: proofFor(ctx) }, extraHeaders: { dpop: proofFor(ctx) } }, 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
    await refusedWith(ctx, { auth: { token: ctx.token, dpop: [proofFor(ctx), proofFor(ctx)] } }, 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  }),
);

S('replay: a handshake proof works once (replayed)', () =>
  withGuard({}, async (ctx) => {
    const dpop = proofFor(ctx);
    assert.ok((await connect(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop } })).connected);
    await refusedWith(ctx, { auth: { token: ctx.token, dpop } }, 'ERR_DPOP_PROOF_INVALID', 'replayed');
  }),
);

S('server nonces: connect_error carries data.dpopNonce; the retry with it connects', () =>
  withGuard({ nonces: new DpopNonces({ secret: 'n'.repeat(32) }) }, async (ctx) => {
    const error = await refused(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx) } });
    assert.is(error.data?.code, 'ERR_DPOP_NONCE_REQUIRED');
    const nonce = (error.data as { dpopNonce?: string }).dpopNonce;
    assert.type(nonce, 'string');
    assert.ok((await connect(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx, { nonce: nonce! }) } })).connected);
  }),
);

S('unbound tokens connect without a proof; with required: true they are refused (unbound)', async () => {
  await withGuard({}, async (ctx) => {
    assert.ok((await connect(ctx.c, ctx.server.url, { auth: { token: ctx.bearer } })).connected);
  });
  await withGuard({ required: true }, async (ctx) => {
    await refusedWith(ctx, { auth: { token: ctx.bearer } }, 'ERR_AUTH_TOKEN_INVALID', 'unbound');
  });
});

S('a guard without dpop refuses bound tokens', () =>
  withGuard(false, async (ctx) => {
    await refusedWith(ctx, { auth: { token: ctx.token, dpop: proofFor(ctx) } }, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  }),
);

S('an app socketAuth after the guard re-verifies the same handshake: its proof is not taken for a replay', () =>
  withGuard({}, async (ctx) => {
    const seen: string[] = [];
    const replayCache = new MemoryDpopReplayCache();
    ctx.c.add(() => replayCache.close());
    ctx.server.io.use(socketAuth(ctx.manager, { dpop: { replayCache }, users: { findOrCreate: (sub) => (seen.push(sub), { id: `user-${sub}` }) } }));
    const socket = await connect(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx) } });
    assert.ok(socket.connected);
    assert.equal(seen, ['alice']);
  }),
);

S('session:renew of a bound session needs a proof for the new token: none, a replayed one, another key, a bad htm are refused; a good one renews', () =>
  withGuard({}, async (ctx) => {
    const socket = await connect(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx) } });
    const next = await ctx.manager.update(ctx.refreshToken, { dpop: { jkt: ctx.key.jkt } });
    const renew = (payload: unknown) => socket.timeout(2000).emitWithAck('session:renew', payload) as Promise<RenewResult>;
    const expectRefused = async (payload: unknown, code: string, reason: string) => {
      const answer = await renew(payload);
      assert.is(answer.ok, false);
      assert.is((answer as { code: string }).code, code);
      assert.is(reasonOf(ctx), reason);
    };
    await expectRefused({ token: next.accessToken }, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    await expectRefused(next.accessToken, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    await expectRefused({ token: next.accessToken, dpop: proofFor(ctx, { accessToken: next.accessToken, htm: 'POST' }) }, 'ERR_DPOP_PROOF_INVALID', 'htm');
    await expectRefused({ token: next.accessToken, dpop: proofFor(ctx) }, 'ERR_DPOP_PROOF_INVALID', 'ath');
    await expectRefused({ token: next.accessToken, dpop: handProof(makeKey(), { htm: 'GET', htu: ctx.htu, accessToken: next.accessToken }) }, 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    const good = proofFor(ctx, { accessToken: next.accessToken });
    const renewed = await renew({ token: next.accessToken, dpop: good });
    assert.is(renewed.ok, true, JSON.stringify(renewed));
    await expectRefused({ token: next.accessToken, dpop: good }, 'ERR_DPOP_PROOF_INVALID', 'replayed');
    assert.ok(socket.connected, 'a refused renewal leaves the socket');
  }),
);

S('session:renew with nonces: the refusal carries dpopNonce, the retry with it renews', () =>
  withGuard({ nonces: new DpopNonces({ secret: 'n'.repeat(32) }) }, async (ctx) => {
    // The handshake learns the nonce the same way first.
    const error = await refused(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx) } });
    const nonce = (error.data as { dpopNonce?: string }).dpopNonce!;
    const socket = await connect(ctx.c, ctx.server.url, { auth: { token: ctx.token, dpop: proofFor(ctx, { nonce }) } });
    const next = await ctx.manager.update(ctx.refreshToken, { dpop: { jkt: ctx.key.jkt } });
    const first = (await socket.timeout(2000).emitWithAck('session:renew', { token: next.accessToken, dpop: proofFor(ctx, { accessToken: next.accessToken }) })) as RenewResult & { dpopNonce?: string };
    assert.is(first.ok, false);
    assert.is((first as { code: string }).code, 'ERR_DPOP_NONCE_REQUIRED');
    assert.type(first.dpopNonce, 'string');
    const retry = (await socket.timeout(2000).emitWithAck('session:renew', { token: next.accessToken, dpop: proofFor(ctx, { accessToken: next.accessToken, nonce: first.dpopNonce! }) })) as RenewResult;
    assert.is(retry.ok, true);
  }),
);

S('connection-state recovery: a recovered socket is re-verified with the new proof of its reconnection; the old proof sent again is a replay', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const replayCache = new MemoryDpopReplayCache();
    c.add(() => replayCache.close());
    const errors: AuthError[] = [];
    const server = await startIo(c, manager, { guard: { dpop: { replayCache }, onError: (e) => errors.push(e) }, server: { connectionStateRecovery: { maxDisconnectionDuration: 10_000 } } });
    const key = makeKey();
    const { accessToken } = await manager.create('alice', { dpop: { jkt: key.jkt } });
    const htu = `${server.url}/socket.io/`;
    const fixed = handProof(key, { htm: 'GET', htu, accessToken });
    let fresh = true;
    const revocations: Array<{ code: string }> = [];
    const recovered = async (): Promise<ClientSocket> => {
      const serverSide = new Promise<import('socket.io').Socket>((resolve) => server.io.once('connection', resolve));
      const socket = await connect(c, server.url, {
        auth: (cb) => cb({ token: accessToken, dpop: fresh ? handProof(key, { htm: 'GET', htu, accessToken }) : fixed }),
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 50,
      });
      socket.on('session:revoked', (payload: { code: string }) => revocations.push(payload));
      const first = await serverSide;
      // Recovery needs an offset: only broadcasts carry one.
      const tick = next(socket, 'tick');
      server.io.emit('tick');
      await tick;
      const gone = new Promise((resolve) => first.once('disconnect', resolve));
      socket.io.engine.close();
      await gone;
      await next(socket, 'connect');
      assert.ok(socket.recovered, 'Socket.IO recovered the socket (middlewares skipped)');
      return socket;
    };
    // A client that makes a proof per connection (socket.io-client calls `auth` again) stays.
    const good = await recovered();
    await sleep(100);
    assert.ok(good.connected);
    good.io.reconnection(false);
    good.disconnect();
    // One that sends its first proof again: the guard's re-verification sees a replay and drops it.
    fresh = false;
    const stale = await recovered();
    await until(() => revocations.length > 0);
    assert.equal(revocations, [{ code: 'ERR_DPOP_PROOF_INVALID', reason: 'unverified' }]);
    assert.is(errors.at(-1)?.reason, 'replayed');
    stale.io.reconnection(false);
  } finally {
    await c.run();
  }
});

S.run();

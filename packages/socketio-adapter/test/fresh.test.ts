import { createAdaptorServer } from '@hono/node-server';
import { JwtSessionVerifier, type JwtUserSessionManager, type SessionVerifier } from '@jwt-session/session-core';
import { MemoryDpopReplayCache, MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, requireFresh, requireFreshEvents, SESSION_NOT_FRESH_EVENT, type AuthError, type NotFreshAnswer, type RequireFreshOptions } from '../src/index.js';
import { fastifyRequireFresh, fastifySessionAuth } from '../src/fastify.js';
import { honoRequireFresh, honoSessionAuth, type SessionAuthEnv } from '../src/hono.js';
import { Cleanup, connect, makeManager, next, startIo } from './support.js';
import { handProof, makeKey } from './dpop-support.js';

/*
 * Issue #22, step-up: a route or an event that needs a recent authentication
 * answers a stale session with 401 and RFC 9470's challenge, on every
 * framework, over real servers and real Socket.IO clients, for the manager's
 * tokens and for another provider's (JwtSessionVerifier).
 */

type Start = (c: Cleanup, verifier: SessionVerifier, fresh: RequireFreshOptions) => Promise<string>;

/** A guard without `dpop` refuses bound tokens (fail closed): these guards check proofs, so a bound token reaches requireFresh. */
const dpop = () => ({ replayCache: new MemoryDpopReplayCache() });

async function listen(c: Cleanup, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const startExpress: Start = async (c, verifier, fresh) => {
  const app = express();
  app.post('/transfer', httpAuth(verifier, { dpop: dpop() }), requireFresh(fresh), (_req, res) => void res.json({ ok: true }));
  app.post('/unguarded', requireFresh(fresh), (_req, res) => void res.json({ ok: true }));
  return listen(c, createServer(app));
};

const startFastify: Start = async (c, verifier, fresh) => {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager: verifier, global: false, dpop: dpop() });
  app.post('/transfer', { onRequest: app.sessionAuth, preHandler: fastifyRequireFresh(fresh) }, async () => ({ ok: true }));
  app.post('/unguarded', { preHandler: fastifyRequireFresh(fresh) }, async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

const startHono: Start = async (c, verifier, fresh) => {
  const app = new Hono<SessionAuthEnv>();
  app.post('/transfer', honoSessionAuth(verifier, { dpop: dpop() }), honoRequireFresh(fresh), (ctx) => ctx.json({ ok: true }));
  app.post('/unguarded', honoRequireFresh(fresh), (ctx) => ctx.json({ ok: true }));
  return listen(c, createAdaptorServer({ fetch: app.fetch }) as Server);
};

async function post(url: string, token?: string, scheme = 'Bearer', proof?: string): Promise<{ status: number; challenge: string | null; body: Record<string, unknown> }> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `${scheme} ${token}` };
  if (proof !== undefined) headers.dpop = proof;
  const res = await fetch(url, { method: 'POST', headers });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, unknown> };
}

const seconds = () => Math.floor(Date.now() / 1000);
const CHALLENGE = /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age="300"$/;

for (const [name, start] of [['Express', startExpress], ['Fastify', startFastify], ['Hono', startHono]] as const) {
  const S = suite(`requireFresh (${name})`);

  S('a fresh session passes; a stale one gets 401 with the RFC 9470 challenge and ERR_AUTH_NOT_FRESH; reauthenticate makes it fresh', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const refusals: AuthError[] = [];
      const url = await start(c, manager, { maxAge: 300, onError: (e) => refusals.push(e) });
      const fresh = await manager.create('alice', { amr: ['pwd'] });
      assert.equal(await post(`${url}/transfer`, fresh.accessToken), { status: 200, challenge: null, body: { ok: true } });
      const stale = await manager.create('alice', { authTime: seconds() - 301, amr: ['pwd'] });
      const refused = await post(`${url}/transfer`, stale.accessToken);
      assert.is(refused.status, 401);
      assert.match(refused.challenge ?? '', CHALLENGE);
      assert.equal(refused.body, { error: 'ERR_AUTH_NOT_FRESH', message: 'a more recent authentication is required', maxAge: 300 });
      assert.equal(refusals.map((e) => [e.code, e.reason]), [['ERR_AUTH_NOT_FRESH', 'stale']]);
      // The user re-enters the password: the same session, fresh again.
      const again = await manager.reauthenticate('alice', stale.sessionId, { refreshToken: stale.refreshToken, amr: ['pwd'] });
      assert.is((await post(`${url}/transfer`, again.accessToken)).status, 200);
      // Placed without an authentication before it: no one to call fresh.
      const alone = await post(`${url}/unguarded`, fresh.accessToken);
      assert.equal([alone.status, alone.challenge, alone.body.error], [401, 'Bearer', 'ERR_AUTH_TOKEN_REQUIRED']);
    } finally {
      await c.run();
    }
  });

  S('acr and amr: acr_values in the challenge; a session without the method asked for is not fresh', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const url = await start(c, manager, { maxAge: 600, acr: ['loa2', 'loa3'], amr: ['otp'] });
      const password = await manager.create('alice', { amr: ['pwd'], acr: 'loa1' });
      const refused = await post(`${url}/transfer`, password.accessToken);
      assert.is(refused.status, 401);
      assert.is(refused.challenge, 'Bearer error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age="600", acr_values="loa2 loa3"');
      assert.equal(refused.body.acrValues, ['loa2', 'loa3']);
      const wrongAmr = await manager.create('alice', { amr: ['pwd'], acr: 'loa2' });
      assert.is((await post(`${url}/transfer`, wrongAmr.accessToken)).status, 401, 'acr right, amr without otp');
      const stepped = await manager.create('alice', { amr: ['pwd', 'otp'], acr: 'loa3' });
      assert.is((await post(`${url}/transfer`, stepped.accessToken)).status, 200);
    } finally {
      await c.run();
    }
  });

  S.run();
}

const V = suite('requireFresh on another provider\'s tokens (JwtSessionVerifier), and options');

V('an OIDC token\'s auth_time counts; a token without one is not fresh', async () => {
  const c = new Cleanup();
  try {
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const secret = 'a-provider-secret-of-at-least-32-bytes';
    const verifier = new JwtSessionVerifier({ keys: { kid: 'p1', algorithm: 'HS256', secret }, issuer: 'https://idp.test', audience: 'https://api.test', tokens: 'oidc', acceptedTypes: ['JWT'], invalidAccessTokenCache: cache });
    c.add(() => verifier.close());
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const sign = (claims: Record<string, unknown>): string => {
      const input = `${b64({ alg: 'HS256', kid: 'p1', typ: 'JWT' })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const now = seconds();
    const base = { iss: 'https://idp.test', aud: 'https://api.test', sub: 'alice', iat: now - 5, exp: now + 600 };
    for (const start of [startExpress, startFastify, startHono]) {
      const url = await start(c, verifier, { maxAge: 120 });
      assert.is((await post(`${url}/transfer`, sign({ ...base, auth_time: now - 60 }))).status, 200);
      const stale = await post(`${url}/transfer`, sign({ ...base, auth_time: now - 3600 }));
      assert.equal([stale.status, stale.body.error], [401, 'ERR_AUTH_NOT_FRESH']);
      const none = await post(`${url}/transfer`, sign(base));
      assert.equal([none.status, none.body.error], [401, 'ERR_AUTH_NOT_FRESH'], 'no auth_time: not fresh');
      // A DPoP-bound token, its proof accepted by the guard, is challenged under the DPoP scheme (RFC 9449 §7.1).
      const key = makeKey();
      const bound = sign({ ...base, auth_time: now - 3600, cnf: { jkt: key.jkt } });
      const proof = handProof(key, { htm: 'POST', htu: `${url}/transfer`, accessToken: bound });
      const answer = await post(`${url}/transfer`, bound, 'DPoP', proof);
      assert.equal([answer.status, answer.body.error], [401, 'ERR_AUTH_NOT_FRESH']);
      assert.match(answer.challenge ?? '', /^DPoP error="insufficient_user_authentication", .*max_age="120"$/);
    }
  } finally {
    await c.run();
  }
});

V('bad options fail at construction with ERR_CONFIG_INVALID, naming the option', () => {
  const bad: unknown[] = [undefined, { maxAge: -5 }, { maxAge: 60, acr: [] }, { maxAge: 60, realm: 3 }, { maxAge: 60, onError: 'log' }, { maxAge: 60, clock: 1 }, { maxAge: 60, clockTolerance: -1 }, { maxAge: 60, maxage: 1 }];
  for (const options of bad) {
    for (const make of [requireFresh, fastifyRequireFresh, honoRequireFresh]) {
      try {
        make(options as RequireFreshOptions);
        assert.unreachable(JSON.stringify(options));
      } catch (error) {
        assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID', JSON.stringify(options));
      }
    }
  }
  for (const events of [null, {}, { transfer: { maxAge: 'soon' } }]) {
    try {
      requireFreshEvents(events as never);
      assert.unreachable(JSON.stringify(events));
    } catch (error) {
      assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
    }
  }
});

V.run();

const E = suite('requireFreshEvents (Socket.IO, real clients)');

async function ioWith(c: Cleanup, manager: JwtUserSessionManager) {
  const { io, url } = await startIo(c, manager);
  io.use(requireFreshEvents({ transfer: { maxAge: 300, amr: ['pwd'] } }));
  io.on('connection', (socket) => {
    socket.on('transfer', (_amount: number, ack?: (answer: unknown) => void) => ack?.({ ok: true, done: 'transfer' }));
    socket.on('chat', (_text: string, ack?: (answer: unknown) => void) => ack?.({ ok: true, done: 'chat' }));
  });
  return url;
}

E('a stale session: "transfer" is refused through its ack (or a session:not-fresh event), other events pass, the socket stays', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const url = await ioWith(c, manager);
    const stale = await manager.create('alice', { authTime: seconds() - 3600, amr: ['pwd'] });
    const socket = await connect(c, url, { auth: { token: stale.accessToken } });
    const refused: NotFreshAnswer = await socket.timeout(2000).emitWithAck('transfer', 100);
    assert.equal(refused, { ok: false, code: 'ERR_AUTH_NOT_FRESH', message: 'a more recent authentication is required', maxAge: 300 });
    assert.equal(await socket.timeout(2000).emitWithAck('chat', 'hi'), { ok: true, done: 'chat' });
    const told = next<NotFreshAnswer & { event: string }>(socket, SESSION_NOT_FRESH_EVENT);
    socket.emit('transfer', 100);
    assert.equal((await told).event, 'transfer');
    assert.ok(socket.connected);
    // Re-authenticated over HTTP, then the token renewed on the socket: the event passes.
    const again = await manager.reauthenticate('alice', stale.sessionId, { refreshToken: stale.refreshToken, amr: ['pwd'] });
    assert.equal(await socket.timeout(2000).emitWithAck('session:renew', { token: again.accessToken }), { ok: true, expiresAt: again.accessTokenExpiresAt });
    assert.equal(await socket.timeout(2000).emitWithAck('transfer', 100), { ok: true, done: 'transfer' });
  } finally {
    await c.run();
  }
});

E('a fresh session without the method asked for (amr) is refused; with it, it passes', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const url = await ioWith(c, manager);
    const passkey = await manager.create('alice', { amr: ['hwk'] });
    const socket = await connect(c, url, { auth: { token: passkey.accessToken } });
    assert.is(((await socket.timeout(2000).emitWithAck('transfer', 1)) as NotFreshAnswer).code, 'ERR_AUTH_NOT_FRESH');
    const password = await manager.create('alice', { amr: ['pwd'] });
    const other = await connect(c, url, { auth: { token: password.accessToken } });
    assert.equal(await other.timeout(2000).emitWithAck('transfer', 1), { ok: true, done: 'transfer' });
  } finally {
    await c.run();
  }
});

E.run();

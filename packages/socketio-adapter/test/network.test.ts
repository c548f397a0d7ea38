import { createAdaptorServer } from '@hono/node-server';
import { JwtSessionVerifier, SESSION_DEVICE_CHANGED, type JwtUserSessionManager, type SessionEvents } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, type AuthError } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { honoSessionAuth, type SessionAuthEnv } from '../src/hono.js';
import { Cleanup, makeManager } from './support.js';

/*
 * Issue #22, drift under the manager's 'refresh' policy: a guard given the
 * request's network refuses an access token issued for another network with
 * 401 ERR_AUTH_TOKEN_INVALID (reason drift), so the client refreshes; the
 * refreshed token passes. Real servers for Express, Fastify and Hono. The
 * network comes from a header here (every test request comes from 127.0.0.1);
 * an app derives it from the client address (a /24 or /48 prefix).
 */

type Guard = { onError: (e: AuthError) => void; network?: (header: string | undefined) => string };
type Start = (c: Cleanup, manager: JwtUserSessionManager, guard: Guard) => Promise<string>;

const header = (req: Pick<IncomingMessage, 'headers'>) => req.headers['x-network'] as string | undefined;

async function listen(c: Cleanup, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const startExpress: Start = async (c, manager, { onError, network }) => {
  const app = express();
  app.get('/me', httpAuth(manager, { onError, ...(network ? { network: (req) => network(header(req)) } : {}) }), (req, res) => void res.json({ sub: req.auth?.sub }));
  return listen(c, createServer(app));
};

const startFastify: Start = async (c, manager, { onError, network }) => {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager, onError, ...(network ? { network: (request) => network(header(request)) } : {}) });
  app.get('/me', async (request) => ({ sub: request.auth?.sub }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

const startHono: Start = async (c, manager, { onError, network }) => {
  const app = new Hono<SessionAuthEnv>();
  app.use('/me', honoSessionAuth(manager, { onError, ...(network ? { network: (ctx) => network(ctx.req.header('x-network')) } : {}) }));
  app.get('/me', (ctx) => ctx.json({ sub: ctx.get('auth')?.sub }));
  return listen(c, createAdaptorServer({ fetch: app.fetch }) as Server);
};

async function get(url: string, token: string, network: string): Promise<{ status: number; challenge: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}`, 'x-network': network } });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, unknown> };
}

const HOME = { summary: 'Firefox on macOS', network: '203.0.113.0/24' };
const CAFE = { ...HOME, network: '198.51.100.0/24' };

for (const [name, start] of [['Express', startExpress], ['Fastify', startFastify], ['Hono', startHono]] as const) {
  const S = suite(`drift network check (${name})`);

  S("a token issued for another network gets 401 ERR_AUTH_TOKEN_INVALID (drift, invalid_token); a refresh with the device observes it and passes", async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c, { drift: 'refresh' });
      const changes: SessionEvents['sessionDeviceChanged'][] = [];
      manager.on(SESSION_DEVICE_CHANGED, (e) => changes.push(e));
      const refusals: AuthError[] = [];
      const url = await start(c, manager, { onError: (e) => refusals.push(e), network: (value) => value ?? '' });
      const home = await manager.create('alice', { device: HOME });
      assert.equal((await get(url, home.accessToken, HOME.network)).body, { sub: 'alice' });
      const moved = await get(url, home.accessToken, CAFE.network);
      assert.is(moved.status, 401);
      assert.is(moved.body.error, 'ERR_AUTH_TOKEN_INVALID');
      assert.match(moved.challenge ?? '', /^Bearer error="invalid_token"/);
      assert.equal(refusals.map((e) => [e.code, e.reason]), [['ERR_AUTH_TOKEN_INVALID', 'drift']]);
      // The client refreshes from where it is: the manager observes the move and issues a token for it.
      const refreshed = await manager.update(home.refreshToken, { device: CAFE });
      assert.equal(changes.map((e) => [e.changed, e.revoked]), [[['network'], false]]);
      assert.equal((await get(url, refreshed.accessToken, CAFE.network)).body, { sub: 'alice' });
      assert.is((await get(url, refreshed.accessToken, HOME.network)).status, 401);
    } finally {
      await c.run();
    }
  });

  S('a token without a device passes from any network, without calling `network`; a guard without `network` checks nothing', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c, { drift: 'refresh' });
      let calls = 0;
      const url = await start(c, manager, { onError: () => undefined, network: (value) => (calls++, value ?? '') });
      const plain = await manager.create('alice');
      assert.is((await get(url, plain.accessToken, CAFE.network)).status, 200);
      assert.is(calls, 0);
      const unchecked = await start(c, manager, { onError: () => undefined });
      const home = await manager.create('alice', { device: HOME });
      assert.is((await get(unchecked, home.accessToken, CAFE.network)).status, 200);
    } finally {
      await c.run();
    }
  });

  S.run();
}

const C = suite('drift network option');

C('`network` must be a function, given with a manager that can check it (a JwtSessionVerifier cannot)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c, { drift: 'refresh' });
    const refused = (f: () => unknown) => assert.throws(f, (e: AuthError) => e.code === 'ERR_CONFIG_INVALID' && /network/.test(e.message));
    refused(() => httpAuth(manager, { network: 'x-forwarded-for' as never }));
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const verifier = new JwtSessionVerifier({ keys: { kid: 'p1', algorithm: 'HS256', secret: 'x'.repeat(32) }, issuer: 'https://idp.test', audience: 'https://api.test', tokens: 'oidc', acceptedTypes: ['JWT'], invalidAccessTokenCache: cache });
    c.add(() => verifier.close());
    refused(() => httpAuth(verifier, { network: () => '' }));
    refused(() => honoSessionAuth(verifier, { network: () => '' }));
    const app = Fastify();
    c.add(() => app.close());
    let failed: unknown;
    try {
      await app.register(fastifySessionAuth, { manager: verifier, network: () => '' });
      await app.ready();
    } catch (error) {
      failed = error;
    }
    assert.is((failed as AuthError | undefined)?.code, 'ERR_CONFIG_INVALID');
  } finally {
    await c.run();
  }
});

C.run();

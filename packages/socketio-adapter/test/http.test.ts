import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JwtUserSessionManager } from '@jwt-session/session-core';
import { httpAuth, type AuthenticatedRequest, type HttpAuthOptions } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { honoSessionAuth, type SessionAuthEnv } from '../src/hono.js';
import { Cleanup, makeManager } from './support.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; message?: string; auth?: Record<string, unknown> | null };
  text: string;
}

/** Raw header pairs, so a test can send the same header twice (fetch would merge them). */
function get(url: string, headers: string[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // With raw header pairs Node adds no Host header, and HTTP/1.1 requires one.
    const req = httpRequest(url, { method: 'GET', headers: ['Host', new URL(url).host, ...headers] }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {}, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Start = (c: Cleanup, manager: JwtUserSessionManager, options: Omit<HttpAuthOptions, 'getToken'> & { global?: boolean }) => Promise<string>;

const startExpress: Start = async (c, manager, options) => {
  const app = express();
  app.get('/me', httpAuth(manager, options), (req, res) => {
    // req.auth is typed by the augmentation of Express.Request that the package ships.
    res.json({ auth: req.auth ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
};

const startFastify: Start = async (c, manager, options) => {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager, ...options });
  if (options.global === false) app.get('/me', { onRequest: app.sessionAuth }, async (request) => ({ auth: request.auth }));
  else app.get('/me', async (request) => ({ auth: request.auth }));
  app.get('/open', async () => ({ open: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`;
};

/** Hono on @hono/node-server: a Web Request built from Node's, over a real socket. */
export const startHono: Start = async (c, manager, { global: _global, ...options }) => {
  const app = new Hono<SessionAuthEnv>();
  app.get('/me', honoSessionAuth(manager, options), (ctx) => ctx.json({ auth: ctx.get('auth') ?? null }));
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
};

for (const [name, start] of [['Express', startExpress], ['Fastify', startFastify], ['Hono', startHono]] as const) {
  const S = suite(`HTTP (${name})`);

  S('a valid Bearer token: 200 and req.auth with the socket.data.auth shape', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const url = await start(c, manager, {});
      const tokens = await manager.create('alice', { claims: { roles: ['admin'] } });
      const res = await get(url, ['Authorization', `bearer ${tokens.accessToken}`]);
      assert.is(res.status, 200);
      const auth = res.body.auth!;
      assert.equal(Object.keys(auth).sort(), ['claims', 'expiresAt', 'features', 'permissions', 'role', 'roles', 'sessionId', 'sub', 'userId']);
      assert.equal([auth.sub, auth.userId, auth.sessionId, auth.role, auth.expiresAt], ['alice', 'alice', tokens.sessionId, 'admin', tokens.accessTokenExpiresAt]);
    } finally {
      await c.run();
    }
  });

  S('401 per RFC 6750: no error attribute when the token is missing; error="invalid_token" otherwise; JSON { error, message }; realm', async () => {
    const c = new Cleanup();
    try {
      let now = Date.now();
      const manager = makeManager(c, { clock: () => now, accessTokenTtl: 60 });
      const url = await start(c, manager, { realm: 'api' });
      const bare = await start(c, manager, {});
      const live = await manager.create('alice');
      const revoked = await manager.create('alice');
      await manager.deleteOne('alice', revoked.sessionId);

      const missing = await get(url);
      assert.is(missing.status, 401);
      assert.is(missing.headers['www-authenticate'], 'Bearer realm="api"');
      assert.is(missing.body.error, 'ERR_AUTH_TOKEN_REQUIRED');
      assert.type(missing.body.message, 'string');
      assert.match(String(missing.headers['content-type']), /application\/json/);
      assert.is((await get(bare)).headers['www-authenticate'], 'Bearer');
      // Another scheme is not a bearer token at all.
      assert.is((await get(url, ['Authorization', 'Basic dTpw'])).body.error, 'ERR_AUTH_TOKEN_REQUIRED');

      const cases: [string, string][] = [
        ['e30.e30.e30', 'ERR_AUTH_TOKEN_INVALID'],
        [revoked.accessToken, 'ERR_SESSION_REVOKED'],
      ];
      for (const [token, code] of cases) {
        const res = await get(url, ['Authorization', `Bearer ${token}`]);
        assert.is(res.status, 401, code);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="api", error="invalid_token", error_description="[^"]*"$/);
        assert.is(res.body.error, code);
        assert.not.ok(res.text.includes(token) || String(res.headers['www-authenticate']).includes(token), 'no token echoed');
      }
      const noRealm = await get(bare, ['Authorization', 'Bearer e30.e30.e30']);
      assert.match(String(noRealm.headers['www-authenticate']), /^Bearer error="invalid_token", error_description=/);
      now += 120_000;
      const expired = await get(url, ['Authorization', `Bearer ${live.accessToken}`]);
      assert.equal([expired.status, expired.body.error], [401, 'ERR_AUTH_TOKEN_EXPIRED']);
      assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
    } finally {
      await c.run();
    }
  });

  S('400 for a malformed Authorization header or several of them', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const url = await start(c, manager, {});
      const { accessToken } = await manager.create('alice');
      const variants = [
        ['Authorization', 'Bearer'],
        ['Authorization', `Bearer ${accessToken} trailing`],
        ['Authorization', 'Bearer a"b'],
        ['Authorization', `Bearer ${accessToken}`, 'authorization', `Bearer ${accessToken}`],
      ];
      for (const headers of variants) {
        const res = await get(url, headers);
        assert.is(res.status, 400, headers.join(' '));
        assert.is(res.body.error, 'ERR_AUTH_HEADER_MALFORMED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer error="invalid_request"/);
        assert.not.ok(res.text.includes(accessToken));
      }
    } finally {
      await c.run();
    }
  });

  S('403 for a disabled user, 503 when the user store is down, 500 when provisioning breaks', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      let mode: 'disabled' | 'down' | 'broken' = 'disabled';
      const users = {
        async findOrCreate(sub: string) {
          if (mode === 'down') throw Object.assign(new Error('ECONNREFUSED'), { code: 'ERR_STORAGE_UNAVAILABLE' });
          if (mode === 'broken') throw new TypeError('bug');
          return { id: sub, isDisabled: true };
        },
      };
      const url = await start(c, manager, { users, realm: 'api' });
      const { accessToken } = await manager.create('alice');
      const auth = ['Authorization', `Bearer ${accessToken}`];
      const disabled = await get(url, auth);
      assert.equal([disabled.status, disabled.body.error, disabled.headers['www-authenticate']], [403, 'ERR_USER_DISABLED', undefined]);
      mode = 'down';
      const down = await get(url, auth);
      assert.equal([down.status, down.body.error], [503, 'ERR_STORAGE_UNAVAILABLE']);
      mode = 'broken';
      const broken = await get(url, auth);
      assert.equal([broken.status, broken.body.error], [500, 'ERR_USER_PROVISIONING_FAILED']);
      assert.not.ok(broken.text.includes('bug'));
    } finally {
      await c.run();
    }
  });

  S('cookie: only when configured and from an allowed Origin (403 cross-site); optional lets anonymous requests through', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const url = await start(c, manager, { cookie: { name: 'at', allowedOrigins: ['https://app.test'] } });
      const { accessToken } = await manager.create('alice');
      const ok = await get(url, ['Cookie', `at=${accessToken}`, 'Origin', 'https://app.test']);
      assert.equal([ok.status, ok.body.auth?.sub], [200, 'alice']);
      const cross = await get(url, ['Cookie', `at=${accessToken}`, 'Origin', 'https://evil.test']);
      assert.equal([cross.status, cross.body.error], [403, 'ERR_ORIGIN_NOT_ALLOWED']);

      const optional = await start(c, manager, { credentialsRequired: false });
      const anonymous = await get(optional);
      assert.equal([anonymous.status, anonymous.body.auth ?? null], [200, null]);
      assert.is((await get(optional, ['Authorization', 'Bearer e30.e30.e30'])).status, 401);
      assert.is((await get(optional, ['Cookie', `at=${accessToken}`])).body.auth ?? null, null, 'cookie not configured: ignored');
    } finally {
      await c.run();
    }
  });

  S.run();
}

const F = suite('HTTP (Fastify, per-route)');

F('global: false decorates fastify.sessionAuth for chosen routes only', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const url = await startFastify(c, manager, { global: false });
    const open = await get(url.replace('/me', '/open'));
    assert.equal([open.status, open.text], [200, '{"open":true}']);
    assert.is((await get(url)).status, 401);
    const { accessToken } = await manager.create('alice');
    assert.is((await get(url, ['Authorization', `Bearer ${accessToken}`])).body.auth?.sub, 'alice');
  } finally {
    await c.run();
  }
});

F.run();

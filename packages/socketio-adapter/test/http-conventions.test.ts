import type { SessionVerifier } from '@jwt-session/session-core';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import type { Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as entry from '@jwt-session/socketio-adapter';
import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
import { honoSessionAuth, type SessionAuthEnv } from '@jwt-session/socketio-adapter/hono';
import { AuthError, httpAuth, httpStatusOf, type AuthContext, type HttpAuthOptions } from '../src/index.js';
import { Cleanup, makeManager } from './support.js';

const S = suite('HTTP conventions (issue 12)');

interface MyUser {
  id: string;
  email: string;
  plan: 'free' | 'pro';
}

type Options = Omit<HttpAuthOptions, 'getToken'>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function body(res: Response): Promise<Record<string, any>> {
  return (await res.json()) as Record<string, unknown>;
}

async function express_(c: Cleanup, manager: SessionVerifier, options: HttpAuthOptions<MyUser, express.Request>): Promise<string> {
  const app = express();
  app.use('/me', httpAuth(manager, options));
  app.all('/me', (req, res) => {
    // Typed through the shipped Express.Request augmentation.
    const auth: AuthContext | undefined = req.auth;
    res.json({ method: req.method, sub: auth?.sub ?? null, user: auth?.user ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
}

async function fastify_(c: Cleanup, manager: SessionVerifier, options: Options & { getToken?: (request: FastifyRequest) => string | undefined }): Promise<string> {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager, ...options });
  app.route({
    method: ['GET', 'OPTIONS', 'POST'],
    url: '/me',
    // request.auth is typed by the plugin's augmentation of FastifyRequest.
    handler: async (request) => ({ method: request.method, sub: request.auth?.sub ?? null, user: request.auth?.user ?? null }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`;
}

async function hono_(c: Cleanup, manager: SessionVerifier, options: Options): Promise<string> {
  const app = new Hono<SessionAuthEnv<MyUser>>();
  app.use('/me', honoSessionAuth<MyUser>(manager, options as Omit<HttpAuthOptions<MyUser>, 'getToken'>));
  app.on(['GET', 'OPTIONS', 'POST'], '/me', (ctx) => {
    // Typed through the Variables generic.
    const auth: AuthContext<MyUser> | undefined = ctx.get('auth');
    return ctx.json({ method: ctx.req.method, sub: auth?.sub ?? null, user: auth?.user ?? null });
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
}

const servers = [
  ['Express', express_],
  ['Fastify', fastify_],
  ['Hono', hono_],
] as const;

S('a CORS preflight passes through by default (its handler answers); allowPreflight: false authenticates it', async () => {
  // Guards: OPTIONS with Access-Control-Request-Method was answered 401, so the browser never sent the real request.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    for (const [name, start] of servers) {
      const url = await start(c, manager, {});
      const preflight = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'POST' } });
      assert.equal([name, preflight.status, await body(preflight)], [name, 200, { method: 'OPTIONS', sub: null, user: null }]);
      // A plain OPTIONS (not a preflight) is still authenticated.
      assert.is((await fetch(url, { method: 'OPTIONS' })).status, 401, name);
      const strict = await start(c, manager, { allowPreflight: false });
      assert.is((await fetch(strict, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } })).status, 401, name);
    }
  } finally {
    await c.run();
  }
});

S('credentialsRequired: false: no token passes with auth undefined; a bad or revoked token is still 401', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const tokens = await manager.create('alice');
    const revoked = await manager.create('alice');
    await manager.deleteOne('alice', revoked.sessionId);
    for (const [name, start] of servers) {
      const url = await start(c, manager, { credentialsRequired: false });
      assert.equal(await body(await fetch(url)), { method: 'GET', sub: null, user: null }, name);
      assert.is((await body(await fetch(url, { headers: { authorization: `Bearer ${tokens.accessToken}` } }))).sub, 'alice');
      const bad = await fetch(url, { headers: { authorization: 'Bearer e30.e30.e30' } });
      assert.equal([bad.status, (await body(bad)).error], [401, 'ERR_AUTH_TOKEN_INVALID'], name);
      const gone = await fetch(url, { headers: { authorization: `Bearer ${revoked.accessToken}` } });
      assert.equal([gone.status, (await body(gone)).error], [401, 'ERR_SESSION_REVOKED'], name);
    }
  } finally {
    await c.run();
  }
});

S('getToken(req) replaces the default sources: its token is verified, nothing means no token, a throw is coded', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const tokens = await manager.create('alice');
    const fromHeader = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);
    // express.Request inferred from the annotation: req.get() is Express's.
    const expressUrl = await express_(c, manager, { getToken: (req: express.Request) => req.get('x-token') });
    const fastifyUrl = await fastify_(c, manager, { getToken: (request) => fromHeader(request.headers['x-token']) });
    for (const url of [expressUrl, fastifyUrl]) {
      assert.is((await body(await fetch(url, { headers: { 'x-token': tokens.accessToken } }))).sub, 'alice');
      // The Authorization header is not looked at any more.
      const ignored = await fetch(url, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
      assert.equal([ignored.status, (await body(ignored)).error], [401, 'ERR_AUTH_TOKEN_REQUIRED']);
      assert.is((await fetch(url, { headers: { 'x-token': 'nope' } })).status, 401);
    }
    const asyncUrl = await express_(c, manager, { getToken: async () => tokens.accessToken });
    assert.is((await body(await fetch(asyncUrl))).sub, 'alice');
    const throwing = await express_(c, manager, {
      getToken: () => {
        throw new Error(`leaks ${tokens.accessToken}`);
      },
    });
    const failed = await fetch(throwing);
    const text = await failed.text();
    assert.equal([failed.status, JSON.parse(text).error], [500, 'ERR_INTERNAL']);
    assert.not.ok(text.includes(tokens.accessToken));
    const refusing = await express_(c, manager, {
      getToken: () => {
        throw new AuthError('ERR_ORIGIN_NOT_ALLOWED');
      },
    });
    assert.is((await fetch(refusing)).status, 403);
  } finally {
    await c.run();
  }
});

S('auth.user is what users.findOrCreate returned, whole and typed', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const users = { findOrCreate: (sub: string): MyUser => ({ id: `u-${sub}`, email: `${sub}@x.test`, plan: 'pro' }) };
    const tokens = await manager.create('alice');
    for (const [name, start] of servers) {
      const url = await start(c, manager, { users } as never);
      const answer = await body(await fetch(url, { headers: { authorization: `Bearer ${tokens.accessToken}` } }));
      assert.equal(answer.user, { id: 'u-alice', email: 'alice@x.test', plan: 'pro' }, name);
    }
    // Compile-time: with a typed provider, auth.user.email is a string.
    const typed = await entry.authenticateToken<MyUser>(manager, tokens.accessToken, { users });
    const email: string | undefined = typed.user?.email;
    assert.is(email, 'alice@x.test');
  } finally {
    await c.run();
  }
});

S('httpStatusOf takes an error or a code; refresh-token failures are 401, a rate limit 429', () => {
  // Guards: refresh-token errors mapped to 500.
  for (const code of ['ERR_REFRESH_TOKEN_INVALID', 'ERR_REFRESH_TOKEN_EXPIRED', 'ERR_REFRESH_TOKEN_REUSED'] as const) {
    assert.is(httpStatusOf(code), 401, code);
    assert.is(httpStatusOf(new AuthError(code)), 401, code);
  }
  assert.is(httpStatusOf(new AuthError('ERR_RATE_LIMITED')), 429);
  assert.is(httpStatusOf('ERR_USER_DISABLED'), 403);
  assert.is(httpStatusOf(new Error('anything')), 500);
  assert.is(httpStatusOf('toString'), 500, 'no inherited property counts as a code');
  assert.is(httpStatusOf(undefined), 500);
});

S('the Fastify plugin lives in its own entry: the main entry exports no Fastify name and its built types never import fastify', () => {
  assert.not.ok('fastifySessionAuth' in entry, 'not exported from the main entry');
  assert.type(fastifySessionAuth, 'function');
  // Build the declarations as publishing would, and read them.
  const out = mkdtempSync(join(tmpdir(), 'adapter-dts-'));
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', out], { stdio: 'pipe' });
    const reachable = new Set<string>();
    const visit = (file: string): void => {
      if (reachable.has(file)) return;
      reachable.add(file);
      const text = readFileSync(join(out, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.[^']+)\.js'/g)) visit(join(file, '..', `${spec}.d.ts`));
    };
    visit('index.d.ts');
    assert.not.ok(reachable.has('fastify.d.ts'));
    for (const file of reachable) assert.not.match(readFileSync(join(out, file), 'utf8'), /['"]fastify['"]/, file);
    assert.match(readFileSync(join(out, 'fastify.d.ts'), 'utf8'), /from 'fastify'/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

S.run();

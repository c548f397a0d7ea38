import express from 'express';
import Fastify from 'fastify';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import type { JwtUserSessionManager, SessionError, SessionTokens } from '@jwt-session/session-core';
import { backchannelLogoutRoute } from '../src/fastify.js';
import { BackchannelLogoutEndpoint, backchannelLogout, sessionRouter, type BackchannelLogoutOptions } from '../src/index.js';
import { LogoutIdp } from './fixtures/logout-idp.js';
import { Cleanup, makeManager, type SwitchableStore } from './support.js';

/*
 * Issue 26 §2: the back-channel logout endpoint over real HTTP, on Express and
 * Fastify from the one core: the answers of OIDC Back-Channel Logout 1.0 §2.8
 * (200, 400 invalid_request with nothing echoed, Cache-Control: no-store on
 * every one), 413 for a body over the cap, 503 when the store could not
 * confirm, several providers at once.
 */

const PATH = '/auth/backchannel-logout';
const CLIENT = 'app-client';
const OTHER_CLIENT = 'app-at-second-idp';

type Manager = JwtUserSessionManager & { store: SwitchableStore };

interface Ctx {
  cleanup: Cleanup;
  idp: LogoutIdp;
  idp2: LogoutIdp;
  manager: Manager;
  url: string;
  refusals: SessionError[];
  a: SessionTokens;
  b: SessionTokens;
}

type Starter = (ctx: Ctx, options: BackchannelLogoutOptions) => Promise<string>;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const starters: [string, Starter][] = [
  [
    'Express',
    async (ctx, options) => {
      const app = express();
      app.use(sessionRouter(ctx.manager));
      app.use(backchannelLogout(ctx.manager, options));
      const server = createServer(app);
      const port = await listen(server);
      ctx.cleanup.add(() => new Promise((resolve) => server.close(resolve)));
      ctx.cleanup.add(() => server.closeAllConnections());
      return `http://127.0.0.1:${port}`;
    },
  ],
  [
    'Express after express.urlencoded()',
    async (ctx, options) => {
      const app = express();
      app.use(express.urlencoded({ extended: false, limit: '32kb' }));
      app.use(sessionRouter(ctx.manager));
      app.use(backchannelLogout(ctx.manager, options));
      const server = createServer(app);
      const port = await listen(server);
      ctx.cleanup.add(() => new Promise((resolve) => server.close(resolve)));
      ctx.cleanup.add(() => server.closeAllConnections());
      return `http://127.0.0.1:${port}`;
    },
  ],
  [
    'Express with a JSON parser in front (req.body = {} on a form, the stream unread)',
    async (ctx, options) => {
      const app = express();
      app.use(express.json());
      // Express 4's body-parser leaves `{}` on requests it skipped; Express 5's leaves undefined. Play the 4 case.
      app.use((req, _res, next) => {
        (req as { body?: unknown }).body ??= {};
        next();
      });
      app.use(backchannelLogout(ctx.manager, options));
      app.use(sessionRouter(ctx.manager));
      const server = createServer(app);
      const port = await listen(server);
      ctx.cleanup.add(() => new Promise((resolve) => server.close(resolve)));
      ctx.cleanup.add(() => server.closeAllConnections());
      return `http://127.0.0.1:${port}`;
    },
  ],
  [
    'Fastify',
    async (ctx, options) => {
      const app = Fastify();
      ctx.cleanup.add(() => app.close());
      const { sessionRoutes } = await import('../src/fastify.js');
      await app.register(sessionRoutes, { manager: ctx.manager });
      await app.register(backchannelLogoutRoute, { manager: ctx.manager, ...options });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
  ],
];

const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();

function post(ctx: Ctx, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${ctx.url}${PATH}`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

async function assertRefused(res: Response, status = 400): Promise<void> {
  assert.is(res.status, status);
  assert.is(res.headers.get('cache-control'), 'no-store');
  assert.is(await res.text(), '{"error":"invalid_request"}');
}

async function alive(ctx: Ctx, tokens: SessionTokens): Promise<boolean> {
  try {
    await ctx.manager.read(tokens.accessToken);
    return true;
  } catch {
    return false;
  }
}

for (const [name, start] of starters) {
  const S = suite<Ctx>(`back-channel logout endpoint (${name})`);

  S.before.each(async (ctx) => {
    ctx.cleanup = new Cleanup();
    ctx.idp = await LogoutIdp.start('/realm-1');
    ctx.idp2 = await LogoutIdp.start('/realm-2');
    ctx.cleanup.add(() => ctx.idp.stop());
    ctx.cleanup.add(() => ctx.idp2.stop());
    ctx.manager = makeManager(ctx.cleanup);
    ctx.refusals = [];
    const replayCache = new MemoryDpopReplayCache();
    ctx.cleanup.add(() => replayCache.close());
    ctx.url = await start(ctx, {
      path: PATH,
      verifier: {
        providers: [
          { issuer: ctx.idp.issuer, clientId: CLIENT, jwksUrl: ctx.idp.jwksUrl },
          { issuer: ctx.idp2.issuer, clientId: OTHER_CLIENT, jwksUrl: ctx.idp2.jwksUrl },
        ],
        replayCache,
        telemetry: false,
      },
      onRefused: (error) => ctx.refusals.push(error),
    });
    ctx.a = await ctx.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'u-1', sessionId: 'sid-A' } });
    ctx.b = await ctx.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'u-1', sessionId: 'sid-B' } });
  });
  S.after.each(async (ctx) => {
    await ctx.cleanup.run();
  });

  S('§2.8: a valid token answers 200 with no-store, and ends exactly the session it names', async (ctx) => {
    const res = await post(ctx, form(ctx.idp.logoutToken(CLIENT, { sid: 'sid-A', sub: 'u-1' })));
    assert.is(res.status, 200);
    assert.is(res.headers.get('cache-control'), 'no-store');
    assert.is(await res.text(), '');
    assert.not.ok(await alive(ctx, ctx.a), 'session A still verifies');
    assert.ok(await alive(ctx, ctx.b), 'session B was ended too');
    // A session list shows which provider each session came from.
    const list = await fetch(`${ctx.url}/auth/sessions`, { headers: { authorization: `Bearer ${ctx.b.accessToken}` } });
    const { sessions } = (await list.json()) as { sessions: { sessionId: string; provider?: string }[] };
    assert.equal(sessions.map((s) => [s.sessionId, s.provider]), [[ctx.b.sessionId, ctx.idp.issuer]]);
  });

  S('§2.8: an invalid token is 400 {"error":"invalid_request"}, nothing of the request echoed, nothing ended, the refusal reported with its reason', async (ctx) => {
    const marker = 'ECHO-MARKER-<script>';
    await assertRefused(await post(ctx, form(ctx.idp.logoutToken('someone-else', { sid: 'sid-A', marker }))));
    await assertRefused(await post(ctx, form(`garbage-${marker}`)));
    assert.ok(await alive(ctx, ctx.a));
    assert.equal(ctx.refusals.map((e) => [e.code, e.reason]), [
      ['ERR_AUTH_TOKEN_INVALID', 'audience'],
      ['ERR_AUTH_TOKEN_INVALID', 'malformed'],
    ]);
    for (const e of ctx.refusals) assert.not.match(e.message, /ECHO-MARKER|ey[A-Za-z0-9]/);
  });

  S('§2.5: the token as the one form parameter logout_token; anything else is 400', async (ctx) => {
    const token = ctx.idp.logoutToken(CLIENT, { sid: 'sid-A' });
    await assertRefused(await post(ctx, JSON.stringify({ logout_token: token }), 'application/json'));
    await assertRefused(await post(ctx, `logout_token=${token}&logout_token=${token}`));
    await assertRefused(await post(ctx, `token=${token}`));
    await assertRefused(await post(ctx, ''));
    assert.ok(await alive(ctx, ctx.a));
    assert.ok(ctx.refusals.every((e) => e.reason === 'malformed'));
  });

  S('§2.6 step 10: the same token twice is 400 the second time', async (ctx) => {
    const body = form(ctx.idp.logoutToken(CLIENT, { sid: 'sid-A' }));
    assert.is((await post(ctx, body)).status, 200);
    await assertRefused(await post(ctx, body));
    assert.equal(ctx.refusals.map((e) => e.reason), ['replayed']);
  });

  S('several providers at once: each token is checked against its own issuer’s keys and client id', async (ctx) => {
    const c = await ctx.manager.create('carol', { upstream: { issuer: ctx.idp2.issuer, subject: 'u-9', sessionId: 'sid-A' } });
    // Provider 1's sid-A is not provider 2's.
    assert.is((await post(ctx, form(ctx.idp2.logoutToken(OTHER_CLIENT, { sid: 'sid-A' })))).status, 200);
    assert.not.ok(await alive(ctx, c));
    assert.ok(await alive(ctx, ctx.a));
    // Provider 2's token for provider 1's client id, and provider 2's iss on provider 1's key, are refused.
    await assertRefused(await post(ctx, form(ctx.idp2.logoutToken(CLIENT, { sid: 'sid-A' }))));
    await assertRefused(await post(ctx, form(ctx.idp.logoutToken(OTHER_CLIENT, { iss: ctx.idp2.issuer, sid: 'sid-A' }))));
    assert.equal(ctx.refusals.map((e) => e.reason), ['audience', 'unknown_key']);
    assert.ok(await alive(ctx, ctx.a));
  });

  // With express.urlencoded() in front, the application's parser reads the body under its own limit (and answers its own 413).
  if (!name.includes('urlencoded')) S('a body over maxBodyBytes is 413, with no-store; nothing ended', async (ctx) => {
    const token = ctx.idp.logoutToken(CLIENT, { sid: 'sid-A' });
    await assertRefused(await post(ctx, `${form(token)}&pad=${'x'.repeat(40_000)}`), 413);
    // Without a Content-Length (chunked), the cap holds while reading.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${ctx.url}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(form(token));
      for (let n = 0; n < 10; n++) req.write(`&pad${n}=${'y'.repeat(8000)}`);
      req.end();
    });
    assert.is(status, 413);
    assert.ok(await alive(ctx, ctx.a));
    assert.ok(ctx.refusals.length >= 1 && ctx.refusals.every((e) => e.reason === 'too_large'), JSON.stringify(ctx.refusals.map((e) => e.reason)));
  });

  S('§2.8: the store cannot confirm the revocation: 503 (never 200), and the provider’s retry of the same token then succeeds', async (ctx) => {
    const body = form(ctx.idp.logoutToken(CLIENT, { sid: 'sid-A' }));
    ctx.manager.store.down = true;
    const res = await post(ctx, body);
    assert.is(res.status, 503);
    assert.is(res.headers.get('cache-control'), 'no-store');
    assert.equal(await res.json(), { error: 'temporarily_unavailable' });
    assert.equal(ctx.refusals.map((e) => e.code), ['ERR_STORAGE_UNAVAILABLE']);
    ctx.manager.store.down = false;
    assert.is((await post(ctx, body)).status, 200, 'the retry was refused as a replay');
    assert.not.ok(await alive(ctx, ctx.a));
  });

  S('issueSession({ upstream }) links the session it opens: a logout for that provider session ends it', async (ctx) => {
    const app = express();
    const sessions = sessionRouter(ctx.manager);
    app.post('/login', async (req, res) => {
      await sessions.issueSession(req, res, 'erin', { csrf: false, upstream: { issuer: ctx.idp.issuer, subject: 'u-5', sessionId: 'sid-E' } });
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ctx.cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    ctx.cleanup.add(() => server.closeAllConnections());
    const login = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/login`, { method: 'POST' });
    const { accessToken } = (await login.json()) as { accessToken: string };
    assert.equal((await ctx.manager.readAll('erin'))[0]!.upstream, { issuer: ctx.idp.issuer, subject: 'u-5', sessionId: 'sid-E' });
    assert.is((await post(ctx, form(ctx.idp.logoutToken(CLIENT, { sid: 'sid-E' })))).status, 200);
    try {
      await ctx.manager.read(accessToken);
      assert.unreachable('the linked session still verifies');
    } catch (error) {
      assert.is((error as SessionError).code, 'ERR_SESSION_REVOKED');
    }
  });

  S('other methods and paths are the application’s', async (ctx) => {
    assert.is((await fetch(`${ctx.url}${PATH}`)).status, 404);
    assert.is((await fetch(`${ctx.url}${PATH}/x`, { method: 'POST' })).status, 404);
  });

  S.run();
}

const C = suite('back-channel logout endpoint: options');

C('bad options fail at construction with ERR_CONFIG_INVALID, naming the option', async () => {
  const cleanup = new Cleanup();
  const manager = makeManager(cleanup);
  const verifier = { providers: [{ issuer: 'https://idp.example.com', clientId: 'x' }], replayCache: new MemoryDpopReplayCache(), telemetry: false as const };
  const bad: [unknown, unknown, RegExp][] = [
    [{}, { verifier }, /revokeUpstream/],
    [manager, null, /options/],
    [manager, { verifier, path: 'no-slash' }, /path/],
    [manager, { verifier, path: '/trailing/' }, /path/],
    [manager, { verifier, maxBodyBytes: 10 }, /maxBodyBytes/],
    [manager, { verifier, onRefused: 'log' }, /onRefused/],
    [manager, { verifier: { ...verifier, providers: [] } }, /providers/],
  ];
  for (const [m, options, message] of bad) {
    try {
      backchannelLogout(m as never, options as never);
      assert.unreachable(`accepted ${String(message)}`);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, message);
    }
  }
  // An onRefused that throws does not change the answer.
  const endpoint = new BackchannelLogoutEndpoint(manager, {
    verifier,
    onRefused: () => {
      throw new Error('logger down');
    },
  });
  const res = await endpoint.handle('application/x-www-form-urlencoded', { text: 'logout_token=x' });
  assert.is(res.status, 400);
  assert.is(endpoint.path, '/auth/backchannel-logout');
  await cleanup.run();
});

C.run();

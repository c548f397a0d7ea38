import express from 'express';
import Fastify from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import type { JwtUserSessionManager, SessionError, SessionTokens } from '@jwt-session/session-core';
import { securityEventsRoute } from '../src/fastify.js';
import { SecurityEventsEndpoint, securityEvents, type SecurityEventsOptions } from '../src/index.js';
import { LogoutIdp } from './fixtures/logout-idp.js';
import { Cleanup, makeManager, type SwitchableStore } from './support.js';

/*
 * Issue 26 §3: the RFC 8935 push endpoint over real HTTP on Express and
 * Fastify: 202 when accepted, 400 with RFC 8935's `err` codes and fixed
 * descriptions (nothing echoed), 413 over the cap, 503 when the store could
 * not confirm; Cache-Control: no-store on every answer.
 */

const PATH = '/auth/security-events';
const AUD = 'https://app.test';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';

interface Ctx {
  cleanup: Cleanup;
  idp: LogoutIdp;
  manager: JwtUserSessionManager & { store: SwitchableStore };
  url: string;
  refusals: SessionError[];
  a: SessionTokens;
  b: SessionTokens;
}

type Starter = (ctx: Ctx, options: SecurityEventsOptions) => Promise<string>;

const starters: [string, Starter][] = [
  [
    'Express',
    async (ctx, options) => {
      const app = express();
      app.use(securityEvents(ctx.manager, options));
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      ctx.cleanup.add(() => new Promise((resolve) => server.close(resolve)));
      ctx.cleanup.add(() => server.closeAllConnections());
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  ],
  [
    'Fastify',
    async (ctx, options) => {
      const app = Fastify();
      ctx.cleanup.add(() => app.close());
      await app.register(securityEventsRoute, { manager: ctx.manager, ...options });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
  ],
];

const post = (ctx: Ctx, body: string, contentType = 'application/secevent+jwt') =>
  fetch(`${ctx.url}${PATH}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body });

async function alive(ctx: Ctx, t: SessionTokens): Promise<boolean> {
  return ctx.manager.read(t.accessToken).then(
    () => true,
    () => false,
  );
}

async function refusedWith(res: Response, err: string, status = 400): Promise<void> {
  assert.is(res.status, status);
  assert.is(res.headers.get('cache-control'), 'no-store');
  const body = (await res.json()) as { err: string; description: string };
  assert.is(body.err, err);
  assert.type(body.description, 'string');
  assert.not.match(body.description, /MARKER/);
}

for (const [name, start] of starters) {
  const S = suite<Ctx>(`security event push endpoint (${name})`);
  S.before.each(async (ctx) => {
    ctx.cleanup = new Cleanup();
    ctx.idp = await LogoutIdp.start('/realm');
    ctx.cleanup.add(() => ctx.idp.stop());
    ctx.manager = makeManager(ctx.cleanup);
    ctx.refusals = [];
    const replayCache = new MemoryDpopReplayCache();
    ctx.cleanup.add(() => replayCache.close());
    ctx.url = await start(ctx, {
      path: PATH,
      receiver: { transmitters: [{ issuer: ctx.idp.issuer, audience: AUD, jwksUrl: ctx.idp.jwksUrl }], replayCache, telemetry: false },
      onRefused: (e) => ctx.refusals.push(e),
    });
    ctx.a = await ctx.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'u-1', sessionId: 'sid-A' } });
    ctx.b = await ctx.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'u-1', sessionId: 'sid-B' } });
  });
  S.after.each(async (ctx) => {
    await ctx.cleanup.run();
  });

  S('202 for an accepted SET: session-revoked ends the linked session; an unknown event is accepted too', async (ctx) => {
    const subject = { format: 'complex', session: { format: 'opaque', id: 'sid-A' } };
    const res = await post(ctx, ctx.idp.securityEvent(AUD, { [`${CAEP}session-revoked`]: { subject } }));
    assert.is(res.status, 202);
    assert.is(res.headers.get('cache-control'), 'no-store');
    assert.not.ok(await alive(ctx, ctx.a));
    assert.ok(await alive(ctx, ctx.b));
    assert.is((await post(ctx, ctx.idp.securityEvent(AUD, { 'https://example.com/unknown': {} }))).status, 202);
  });

  S('400 with RFC 8935 codes: invalid_audience, invalid_issuer, invalid_key, invalid_request; nothing ended', async (ctx) => {
    const events = { [`${CAEP}credential-change`]: { subject: { format: 'iss_sub', iss: ctx.idp.issuer, sub: 'u-1' } } };
    await refusedWith(await post(ctx, ctx.idp.securityEvent('https://other.test', events)), 'invalid_audience');
    await refusedWith(await post(ctx, ctx.idp.securityEvent(AUD, events, { iss: 'https://evil.test' })), 'invalid_issuer');
    await refusedWith(await post(ctx, ctx.idp.securityEvent(AUD, events, {}).replace(/\.[^.]+$/, '.AAAA')), 'invalid_key');
    await refusedWith(await post(ctx, 'MARKER-garbage'), 'invalid_request');
    await refusedWith(await post(ctx, ctx.idp.securityEvent(AUD, events), 'application/json'), 'invalid_request');
    const once = ctx.idp.securityEvent(AUD, { 'https://example.com/ping': {} });
    assert.is((await post(ctx, once)).status, 202);
    await refusedWith(await post(ctx, once), 'invalid_request');
    assert.ok(await alive(ctx, ctx.a));
    assert.ok(await alive(ctx, ctx.b));
    assert.equal(ctx.refusals.map((e) => e.reason), ['audience', 'issuer', 'signature', 'malformed', 'malformed', 'replayed']);
  });

  S('413 over the cap; 503 when the store could not confirm, and the retry is then applied', async (ctx) => {
    await refusedWith(await post(ctx, 'x'.repeat(40_000)), 'invalid_request', 413);
    const token = ctx.idp.securityEvent(AUD, { [`${CAEP}credential-change`]: { subject: { format: 'iss_sub', iss: ctx.idp.issuer, sub: 'u-1' } } });
    ctx.manager.store.down = true;
    const res = await post(ctx, token);
    assert.is(res.status, 503);
    assert.is(res.headers.get('cache-control'), 'no-store');
    ctx.manager.store.down = false;
    assert.is((await post(ctx, token)).status, 202);
    assert.not.ok(await alive(ctx, ctx.a));
    assert.not.ok(await alive(ctx, ctx.b));
  });

  S.run();
}

const C = suite('security event push endpoint: options');
C('bad options fail at construction', async () => {
  const cleanup = new Cleanup();
  const manager = makeManager(cleanup);
  const receiver = { transmitters: [{ issuer: 'https://idp.example.com', audience: AUD }], replayCache: new MemoryDpopReplayCache(), telemetry: false as const };
  for (const [m, options] of [
    [{}, { receiver }],
    [manager, null],
    [manager, { receiver, path: 'x' }],
    [manager, { receiver, maxBodyBytes: 1 }],
    [manager, { receiver, onRefused: 1 }],
  ] as const) {
    try {
      securityEvents(m as never, options as never);
      assert.unreachable('accepted');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID');
    }
  }
  const endpoint = new SecurityEventsEndpoint(manager, {
    receiver,
    onRefused: () => {
      throw new Error('logger down');
    },
  });
  assert.is((await endpoint.handle('text/plain', { text: 'x' })).status, 400);
  assert.is(endpoint.path, '/auth/security-events');
  await cleanup.run();
});
C.run();

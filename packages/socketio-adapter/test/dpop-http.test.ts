import { createAdaptorServer } from '@hono/node-server';
import { DpopNonces, type JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, type AuthError, type HttpAuthOptions } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { honoSessionAuth, type SessionAuthEnv } from '../src/hono.js';
import { handProof, makeKey, panvaKey, panvaProof, type TestKey } from './dpop-support.js';
import { Cleanup, makeManager } from './support.js';

/*
 * RFC 9449 §4.3 and §7.1 at the HTTP guards: each rule has a case that a
 * proof breaking only that rule is refused (with the reason `onError` is told,
 * so the test fails if another rule refused it instead), on Express, Fastify
 * and Hono over real sockets.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; auth?: { userId: string } | null };
}

/** Raw header pairs, so a test can send a header twice. */
function get(url: string, headers: string[] = [], method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: ['Host', new URL(url).host, ...headers] }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Options = Omit<HttpAuthOptions, 'getToken'>;
/** Starts a guarded `GET /api/me`; answers its URL. */
type Start = (c: Cleanup, manager: JwtUserSessionManager, options: Options) => Promise<string>;

async function listen(c: Cleanup, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return (server.address() as AddressInfo).port;
}

const startExpress: Start = async (c, manager, options) => {
  // A mounted router: Express rewrites req.url to `/me`; the proof's htu is the full path (originalUrl).
  const app = express();
  const api = express.Router();
  api.get('/me', httpAuth(manager, options), (req, res) => res.json({ auth: req.auth ?? null }));
  app.use('/api', api);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/me`;
};

const startFastify: Start = async (c, manager, options) => {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager, ...options });
  app.get('/api/me', async (request) => ({ auth: request.auth ?? null }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/me`;
};

const startHono: Start = async (c, manager, options) => {
  const app = new Hono<SessionAuthEnv>();
  app.get('/api/me', honoSessionAuth(manager, options), (ctx) => ctx.json({ auth: ctx.get('auth') ?? null }));
  const port = await listen(c, createAdaptorServer({ fetch: app.fetch }) as Server);
  return `http://127.0.0.1:${port}/api/me`;
};

const CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256"';

for (const [name, start] of [['Express', startExpress], ['Fastify', startFastify], ['Hono', startHono]] as const) {
  const S = suite(`DPoP at the HTTP guard (${name})`);

  interface Ctx {
    c: Cleanup;
    manager: JwtUserSessionManager;
    url: string;
    key: TestKey;
    /** A token bound to `key`. */
    token: string;
    /** An unbound token. */
    bearer: string;
    errors: AuthError[];
  }

  async function withGuard(dpop: Partial<NonNullable<Options['dpop']>> | false, run: (ctx: Ctx) => Promise<void>, extra: Options = {}): Promise<void> {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const errors: AuthError[] = [];
      const options: Options = { onError: (error) => errors.push(error), ...extra };
      if (dpop !== false) {
        const replayCache = new MemoryDpopReplayCache();
        c.add(() => replayCache.close());
        options.dpop = { replayCache, ...dpop };
      }
      const url = await start(c, manager, options);
      const key = makeKey();
      const token = (await manager.create('alice', { dpop: { jkt: key.jkt } })).accessToken;
      const bearer = (await manager.create('bob')).accessToken;
      await run({ c, manager, url, key, token, bearer, errors });
    } finally {
      await c.run();
    }
  }

  const reasonOf = (ctx: Ctx) => ctx.errors.at(-1)?.reason;

  S('a bound token with a proof by panva’s dpop package (interop): 200, and the next proof of the same key too', async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const cache = new MemoryDpopReplayCache();
      c.add(() => cache.close());
      const url = await start(c, manager, { dpop: { replayCache: cache } });
      const key = await panvaKey();
      const token = (await manager.create('alice', { dpop: { jkt: key.jkt } })).accessToken;
      for (let i = 0; i < 2; i++) {
        const answer = await get(url, ['Authorization', `DPoP ${token}`, 'DPoP', await panvaProof(key, url, 'GET', token)]);
        assert.is(answer.status, 200, JSON.stringify(answer.body));
        assert.is(answer.body.auth?.userId, 'alice');
      }
    } finally {
      await c.run();
    }
  });

  S('htu: the query is ignored, but another path, host or scheme is refused (htu)', () =>
    withGuard({}, async (ctx) => {
      const ok = await get(`${ctx.url}?x=1`, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(ok.status, 200);
      for (const htu of [ctx.url.replace('/api/me', '/api/other'), ctx.url.replace('127.0.0.1', 'localhost'), ctx.url.replace('http:', 'https:')]) {
        const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu, accessToken: ctx.token })]);
        assert.is(answer.status, 401);
        assert.is(answer.body.error, 'ERR_DPOP_PROOF_INVALID');
        assert.is(answer.headers['www-authenticate'], CHALLENGE);
        assert.is(reasonOf(ctx), 'htu');
      }
    }),
  );

  S('htm: a proof for POST on a GET is refused (htm)', () =>
    withGuard({}, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'POST', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(answer.status, 401);
      assert.is(answer.body.error, 'ERR_DPOP_PROOF_INVALID');
      assert.is(reasonOf(ctx), 'htm');
    }),
  );

  S('ath: a proof made for another token, or with none, is refused (ath)', () =>
    withGuard({}, async (ctx) => {
      for (const accessToken of [ctx.bearer, undefined]) {
        const proof = handProof(ctx.key, { htm: 'GET', htu: ctx.url, ...(accessToken === undefined ? {} : { accessToken }) });
        const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof]);
        assert.is(answer.status, 401);
        assert.is(reasonOf(ctx), 'ath');
      }
    }),
  );

  S('jkt: a valid proof by another key is refused (ERR_DPOP_BINDING_MISMATCH, binding)', () =>
    withGuard({}, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(makeKey(), { htm: 'GET', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(answer.status, 401);
      assert.is(answer.body.error, 'ERR_DPOP_BINDING_MISMATCH');
      assert.is(answer.headers['www-authenticate'], CHALLENGE);
      assert.is(reasonOf(ctx), 'binding');
    }),
  );

  S('no downgrade: a bound token under Bearer (even with a valid proof), or without a proof, is refused with the DPoP challenge', () =>
    withGuard({}, async (ctx) => {
      const proof = () => handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token });
      for (const headers of [['Authorization', `Bearer ${ctx.token}`, 'DPoP', proof()], ['Authorization', `Bearer ${ctx.token}`], ['Authorization', `DPoP ${ctx.token}`]]) {
        const answer = await get(ctx.url, headers);
        assert.is(answer.status, 401, headers.join(' '));
        assert.is(answer.body.error, 'ERR_DPOP_BINDING_MISMATCH');
        assert.is(answer.headers['www-authenticate'], CHALLENGE);
        assert.is(reasonOf(ctx), 'binding');
      }
    }),
  );

  S('two DPoP headers are refused (multiple_headers), even when each is valid', () =>
    withGuard({}, async (ctx) => {
      const proof = () => handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token });
      const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof(), 'DPoP', proof()]);
      assert.is(answer.status, 401);
      assert.is(answer.body.error, 'ERR_DPOP_PROOF_INVALID');
      assert.is(reasonOf(ctx), 'multiple_headers');
    }),
  );

  S('replay: a proof accepted once is refused the second time (replayed)', () =>
    withGuard({}, async (ctx) => {
      const proof = handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token });
      assert.is((await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof])).status, 200);
      const again = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof]);
      assert.is(again.status, 401);
      assert.is(again.body.error, 'ERR_DPOP_PROOF_INVALID');
      assert.is(reasonOf(ctx), 'replayed');
    }),
  );

  S('iat: a proof older than the window, or from the future, is refused (iat)', () =>
    withGuard({}, async (ctx) => {
      const now = Math.floor(Date.now() / 1000);
      for (const iat of [now - 120, now + 60]) {
        const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token, iat })]);
        assert.is(answer.status, 401);
        assert.is(reasonOf(ctx), 'iat');
      }
    }),
  );

  S('typ: a JWS that is not a dpop+jwt is refused (type)', () =>
    withGuard({}, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token, typ: 'JWT' })]);
      assert.is(answer.status, 401);
      assert.is(reasonOf(ctx), 'type');
    }),
  );

  S('server nonces: a proof without the nonce gets 401 use_dpop_nonce and a DPoP-Nonce; the retry with it passes', () =>
    withGuard({ nonces: new DpopNonces({ secret: 'n'.repeat(32) }) }, async (ctx) => {
      const first = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(first.status, 401);
      assert.is(first.body.error, 'ERR_DPOP_NONCE_REQUIRED');
      assert.is(first.headers['www-authenticate'], 'DPoP error="use_dpop_nonce", algs="ES256"');
      const nonce = first.headers['dpop-nonce'];
      assert.type(nonce, 'string');
      const stale = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token, nonce: 'stale' })]);
      assert.is(stale.body.error, 'ERR_DPOP_NONCE_REQUIRED');
      const retry = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token, nonce: nonce as string })]);
      assert.is(retry.status, 200);
    }),
  );

  S('unbound tokens keep working with Bearer and no proof; with required: true they are refused (unbound)', async () => {
    await withGuard({}, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `Bearer ${ctx.bearer}`]);
      assert.is(answer.status, 200);
      assert.is(answer.body.auth?.userId, 'bob');
    });
    await withGuard({ required: true }, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `Bearer ${ctx.bearer}`]);
      assert.is(answer.status, 401);
      assert.is(answer.body.error, 'ERR_AUTH_TOKEN_INVALID');
      assert.is(reasonOf(ctx), 'unbound');
      // A DPoP-only resource says so in its challenges (RFC 9449 §7.1), with the algorithms it takes.
      assert.match(String(answer.headers['www-authenticate']), /^DPoP error="invalid_token", error_description="[^"]+", algs="ES256"$/);
      assert.is((await get(ctx.url)).headers['www-authenticate'], 'DPoP algs="ES256"');
      // A bound one still passes with its proof.
      const bound = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(bound.status, 200);
    });
  });

  S('a guard without the dpop option refuses bound tokens, proof or not (no replay cache to check them against)', () =>
    withGuard(false, async (ctx) => {
      const answer = await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token })]);
      assert.is(answer.status, 401);
      assert.is(answer.body.error, 'ERR_DPOP_BINDING_MISMATCH');
      assert.is((await get(ctx.url, ['Authorization', `Bearer ${ctx.bearer}`])).status, 200);
    }),
  );

  S('behind a proxy: htu from dpop.publicOrigin, or from X-Forwarded-* only with trustProxy', async () => {
    await withGuard({ publicOrigin: 'https://api.example.com' }, async (ctx) => {
      const htu = 'https://api.example.com/api/me';
      assert.is((await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu, accessToken: ctx.token })])).status, 200);
      assert.is((await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', handProof(ctx.key, { htm: 'GET', htu: ctx.url, accessToken: ctx.token })])).status, 401);
    });
    const forwarded = ['X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'app.example.com'];
    await withGuard({}, async (ctx) => {
      const proof = handProof(ctx.key, { htm: 'GET', htu: 'https://app.example.com/api/me', accessToken: ctx.token });
      assert.is((await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof, ...forwarded])).status, 200);
    }, { trustProxy: true });
    await withGuard({}, async (ctx) => {
      const proof = handProof(ctx.key, { htm: 'GET', htu: 'https://app.example.com/api/me', accessToken: ctx.token });
      assert.is((await get(ctx.url, ['Authorization', `DPoP ${ctx.token}`, 'DPoP', proof, ...forwarded])).status, 401);
      assert.is(reasonOf(ctx), 'htu');
    });
  });

  S.run();
}

const O = suite('DPoP guard options');

O('bad dpop and trustProxy options fail when the middleware is built, naming the option', () => {
  const c = new Cleanup();
  const manager = makeManager(c);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ dpop: null }, /^httpAuth: options\.dpop must be an object/],
    [{ dpop: {} }, /^httpAuth: options\.dpop\.replayCache is required/],
    [{ dpop: { replayCache: new MemoryDpopReplayCache(), algorithms: ['HS256'] } }, /options\.dpop\.algorithms/],
    [{ dpop: { replayCache: new MemoryDpopReplayCache(), publicorigin: 'x' } }, /options\.dpop\.publicorigin is not an option/],
    [{ trustProxy: 0 }, /^httpAuth: trustProxy must be/],
  ];
  for (const [options, message] of cases) {
    try {
      httpAuth(manager, options as HttpAuthOptions);
      assert.unreachable(JSON.stringify(options));
    } catch (error) {
      assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, message);
    }
  }
  return c.run();
});

O.run();

import express from 'express';
import fc from 'fast-check';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SessionVerifier } from '@jwt-session/session-core';
import { request as httpRequest } from 'node:http';
import { extractToken, httpAuth, toAuthError, type AuthError, type AuthenticatedRequest, type HttpAuthOptions } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { Cleanup, makeManager } from './support.js';

/*
 * Issue 27: the HTTP guards cost about what `read()` costs. These tests pin
 * the structure that makes it so (what a request does and does not do),
 * never a timing: the machine running them is shared.
 */
const S = suite('HTTP guards: the per-request path (issue 27)');

/** The manager behind a proxy that records every property looked up on it. */
function recording(manager: SessionVerifier): { verifier: SessionVerifier; reads: string[] } {
  const reads: string[] = [];
  const verifier = new Proxy(manager, {
    get(target, name, receiver) {
      reads.push(String(name));
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { verifier, reads };
}

async function expressUrl(c: Cleanup, verifier: SessionVerifier): Promise<string> {
  const app = express();
  app.get('/me', httpAuth(verifier), (req, res) => void res.json({ sub: req.auth?.sub ?? null }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
}

async function fastifyUrl(c: Cleanup, verifier: SessionVerifier): Promise<string> {
  const app = Fastify();
  c.add(() => app.close());
  await app.register(fastifySessionAuth, { manager: verifier });
  app.get('/me', async (request) => ({ sub: request.auth?.sub ?? null }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`;
}

S('a request looks up nothing on the verifier but its read method: the verifier was checked when the guard was built', async () => {
  // Guards: every request re-ran the construction checks (read, isRevoked, on and off looked up, their messages built) twice.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    for (const [name, start] of [['Express', expressUrl], ['Fastify', fastifyUrl]] as const) {
      const { verifier, reads } = recording(manager);
      const url = await start(c, verifier);
      reads.length = 0;
      for (const token of [accessToken, accessToken, 'e30.e30.e30']) await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const ok = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal([name, ok.status, ((await ok.json()) as { sub: string }).sub], [name, 200, 'alice']);
      assert.equal([name, reads.filter((read) => read !== 'read' && read !== 'readSync')], [name, []]);
    }
  } finally {
    await c.run();
  }
});

/** A real IncomingMessage as Node's parser leaves it for `GET /me` with these headers. */
function incoming(headers: Record<string, string>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/me';
  req.headers = headers;
  req.rawHeaders = Object.entries(headers).flat();
  return req;
}

S('httpAuth: with the manager (readSync) a request is answered before the middleware returns, no promise waited for', async () => {
  // Guards: every request waited for read()'s promise and three more async layers before next() or the 401.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    const middleware = httpAuth(manager);
    const req: AuthenticatedRequest = incoming({ authorization: `Bearer ${accessToken}` });
    let passed = false;
    middleware(req, new ServerResponse(req), () => (passed = true));
    assert.ok(passed, 'next() ran in the same turn');
    assert.is(req.auth?.sub, 'alice');

    const bad = incoming({ authorization: 'Bearer e30.e30.e30' });
    const res = new ServerResponse(bad);
    let ended = false;
    res.end = (() => ((ended = true), res)) as never;
    middleware(bad, res, () => assert.unreachable('a bad token passed'));
    assert.equal([ended, res.statusCode, String(res.getHeader('www-authenticate'))], [true, 401, 'Bearer error="invalid_token", error_description="the access token is invalid"']);

    // A verifier without readSync (or a user store to wait for) still gets the promise path.
    const slow = httpAuth(manager, { users: { findOrCreate: async (sub: string) => ({ id: sub }) } });
    const later: AuthenticatedRequest = incoming({ authorization: `Bearer ${accessToken}` });
    const done = new Promise<void>((resolve) => slow(later, new ServerResponse(later), () => resolve()));
    assert.is(later.auth, undefined, 'not yet');
    await done;
    assert.is(later.auth?.user?.id, 'alice');
  } finally {
    await c.run();
  }
});

S('Fastify: as a hook, sessionAuth calls done() before it returns; called by hand with two arguments, it returns a promise', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    const app = Fastify();
    c.add(() => app.close());
    await app.register(fastifySessionAuth, { manager, global: false });
    const seen: unknown[] = [];
    app.get('/hook', {
      onRequest: (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
        let called = false;
        app.sessionAuth(request, reply, () => (called = true));
        seen.push(called);
        done();
      },
    }, async (request) => ({ sub: request.auth?.sub ?? null }));
    app.get('/by-hand', {
      preHandler: async (request, reply) => {
        const answer = app.sessionAuth(request, reply);
        seen.push(answer instanceof Promise);
        return answer;
      },
    }, async (request) => ({ sub: request.auth?.sub ?? null }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const authorization = `Bearer ${accessToken}`;
    assert.equal(await (await fetch(`${base}/hook`, { headers: { authorization } })).json(), { sub: 'alice' });
    assert.equal(await (await fetch(`${base}/by-hand`, { headers: { authorization } })).json(), { sub: 'alice' });
    const refused = await fetch(`${base}/by-hand`, { headers: { authorization: 'Bearer e30.e30.e30' } });
    assert.equal([refused.status, ((await refused.json()) as { error: string }).error], [401, 'ERR_AUTH_TOKEN_INVALID']);
    assert.equal(seen, [true, true, true]);
  } finally {
    await c.run();
  }
});

/** One GET with raw header pairs (so a header can be sent twice): status, the headers a refusal sets, the body. */
function answerOf(url: string, headers: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers: ['Host', new URL(url).host, ...headers] }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const h = res.headers;
        resolve(JSON.stringify([res.statusCode, h['www-authenticate'], h['cache-control'], h['content-type'], text]));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

S('a refusal answers the same with and without onError (the error object is built only for onError), which gets every code', async () => {
  // Guards the refusal path that skips building an AuthError (and its stack trace) when no onError is there to be told.
  const c = new Cleanup();
  try {
    let now = Date.now();
    const manager = makeManager(c, { clock: () => now, accessTokenTtl: 60 });
    const live = await manager.create('alice');
    const expiring = await manager.create('alice');
    const revoked = await manager.create('alice');
    await manager.deleteOne('alice', revoked.sessionId);
    const cookie = { name: 'at', allowedOrigins: ['https://app.test'] };
    const requests: [string, string[]][] = [
      ['ERR_AUTH_TOKEN_REQUIRED', []],
      ['ERR_AUTH_TOKEN_REQUIRED', ['Authorization', 'Basic dTpw']],
      ['ERR_AUTH_HEADER_MALFORMED', ['Authorization', 'Bearer a"b']],
      ['ERR_AUTH_HEADER_MALFORMED', ['Authorization', `Bearer ${live.accessToken}`, 'authorization', `Bearer ${live.accessToken}`]],
      ['ERR_AUTH_TOKEN_INVALID', ['Authorization', 'Bearer e30.e30.e30']],
      ['ERR_AUTH_TOKEN_INVALID', ['Authorization', `Bearer ${live.accessToken.slice(0, -2)}AA`]],
      ['ERR_SESSION_REVOKED', ['Authorization', `Bearer ${revoked.accessToken}`]],
      ['ERR_ORIGIN_NOT_ALLOWED', ['Cookie', `at=${live.accessToken}`, 'Origin', 'https://evil.test']],
      ['ERR_AUTH_TOKEN_EXPIRED', ['Authorization', `Bearer ${expiring.accessToken}`]],
    ];
    const starts: [string, (options: HttpAuthOptions) => Promise<string>][] = [
      ['Express', async (options) => {
        const app = express();
        app.get('/me', httpAuth(manager, options), (req, res) => void res.json({ sub: req.auth?.sub ?? null }));
        const server = app.listen(0, '127.0.0.1');
        await new Promise<void>((resolve) => server.once('listening', () => resolve()));
        c.add(() => new Promise((resolve) => server.close(resolve)));
        c.add(() => server.closeAllConnections());
        return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
      }],
      ['Fastify', async (options) => {
        const app = Fastify();
        c.add(() => app.close());
        await app.register(fastifySessionAuth, { manager, ...(options as Omit<HttpAuthOptions, 'getToken'>) });
        app.get('/me', async (request) => ({ sub: request.auth?.sub ?? null }));
        await app.listen({ port: 0, host: '127.0.0.1' });
        return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`;
      }],
    ];
    for (const [name, start] of starts) {
      for (const realm of [undefined, 'api']) {
        const told: AuthError[] = [];
        const base = realm === undefined ? { cookie } : { cookie, realm };
        const quiet = await start(base);
        const hooked = await start({ ...base, onError: (error) => void told.push(error) });
        for (const [code, headers] of requests) {
          if (code === 'ERR_AUTH_TOKEN_EXPIRED') now += 120_000;
          const answer = await answerOf(quiet, headers);
          assert.is((JSON.parse((JSON.parse(answer) as string[])[4]!) as { error: string }).error, code, `${name}: ${answer}`);
          assert.is(await answerOf(hooked, headers), answer, `${name} ${code}`);
          if (code === 'ERR_AUTH_TOKEN_EXPIRED') now -= 120_000;
        }
        assert.equal(told.map((error) => error.code), requests.map(([code]) => code), name);
        assert.ok(told.every((error) => typeof error.reason === 'string' && error.reason !== 'unspecified'), name);
      }
    }
  } finally {
    await c.run();
  }
});

/** RFC 6750 §2.1 as the header was parsed before issue 27, in two passes: the reference the one-pass parser must agree with. */
function twoPassBearer(value: string): string | 'none' | 'malformed' {
  if (!/^Bearer(?: |$)/i.test(value)) return 'none';
  const match = /^Bearer +(\S+) *$/i.exec(value);
  return match && /^[A-Za-z0-9\-._~+/]+=*$/.test(match[1]!) ? match[1]! : 'malformed';
}

function parsed(value: string): string {
  try {
    return extractToken({ headers: { authorization: value } }).token;
  } catch (error) {
    const { code } = toAuthError(error);
    return code === 'ERR_AUTH_TOKEN_REQUIRED' ? 'none' : code === 'ERR_AUTH_HEADER_MALFORMED' ? 'malformed' : code;
  }
}

S('the one-pass Authorization parser accepts and refuses exactly what the two-pass one did (b64token, spaces, case, non-ASCII)', () => {
  // Characters that sit at the edges: b64token's punctuation, other ASCII, whitespace other than SP, and
  // non-ASCII letters whose case folds to ASCII (ſ → S, ı → I, K (Kelvin) → k), which `i` must not let in.
  const char = fc.constantFrom(...'aZ09-._~+/= \t"\\,;:Bbearer\u00a0\u017f\u0131\u212a\u00e9é'.split(''));
  const tail = fc.array(char, { maxLength: 24 }).map((chars) => chars.join(''));
  const header = fc.oneof(
    tail,
    fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Bearer ', 'Bearer  ', 'Basic', 'Bearerx', 'Bearer\t'), tail).map(([scheme, rest]) => scheme + rest),
  );
  fc.assert(
    fc.property(header, (value) => {
      assert.is(parsed(value), twoPassBearer(value), JSON.stringify(value));
    }),
    { numRuns: 20_000 },
  );
  for (const value of ['Bearer abc', 'bearer  a.b.c==  ', 'Bearer a=b', 'Bearer \u017f', 'Bearer \u212a', 'Bearer a\tb', 'Bearer', 'Bearer   ']) {
    assert.is(parsed(value), twoPassBearer(value), value);
  }
});

S.run();

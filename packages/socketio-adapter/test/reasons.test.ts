import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { SessionError, type SessionVerifier } from '@jwt-session/session-core';
import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
import {
  ADAPTER_ERROR_REASONS,
  AuthError,
  authenticateToken,
  extractToken,
  httpAuth,
  socketAuth,
  type AdapterErrorReason,
  type AuthErrorCode,
  type AuthErrorReason,
  type HttpAuthOptions,
  type RenewResult,
} from '../src/index.js';
import { Cleanup, connect, makeManager, refused, startIo, until } from './support.js';

/*
 * Issue #19 §2: every refusal says why to the operator (`reason`, the
 * `onError` hook), never to the client. Each reason this package adds is
 * produced here through its public API, with its code; and the reason is
 * shown to reach `onError` of httpAuth, the Fastify plugin, socketAuth and the
 * guard while HTTP bodies, WWW-Authenticate and connect_error data stay the
 * fixed text of the code.
 */

const seen = new Set<AuthErrorReason>();

function check(error: unknown, code: AuthErrorCode, reason: AuthErrorReason, what: string): AuthError {
  assert.instance(error, AuthError, what);
  const e = error as AuthError;
  assert.is(e.code, code, `${what}: code`);
  assert.is(e.reason, reason, `${what}: reason`);
  seen.add(reason);
  return e;
}

async function refusedWith(call: () => unknown, code: AuthErrorCode, reason: AuthErrorReason, what: string): Promise<AuthError> {
  let error: unknown;
  try {
    await call();
  } catch (thrown) {
    error = thrown;
  }
  return check(error, code, reason, what);
}

const COOKIE = { name: 'at', allowedOrigins: ['https://app.test'] };

const S = suite('reasons: to the operator, never to the client');

S('token sources, provisioning and mapping: one reason each', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    await refusedWith(() => extractToken({ headers: {} }), 'ERR_AUTH_TOKEN_REQUIRED', 'missing_token', 'no token');
    await refusedWith(() => extractToken({ headers: { authorization: 'Bearer a b' } }), 'ERR_AUTH_HEADER_MALFORMED', 'authorization_header', 'a bad Bearer');
    await refusedWith(
      () => extractToken({ headers: { authorization: 'Bearer a' }, rawHeaders: ['Authorization', 'Bearer a', 'authorization', 'Bearer b'] }),
      'ERR_AUTH_HEADER_MALFORMED',
      'duplicate_authorization',
      'two Authorization headers',
    );
    await refusedWith(() => extractToken({ headers: { cookie: 42 as never } }, { cookie: COOKIE }), 'ERR_AUTH_HEADER_MALFORMED', 'cookie_header', 'a Cookie header of a number');
    await refusedWith(() => extractToken({ headers: { cookie: 'at=x', origin: 'https://evil.test' } }, { cookie: COOKIE }), 'ERR_ORIGIN_NOT_ALLOWED', 'origin', 'a foreign origin');
    await refusedWith(() => extractToken({ auth: { token: 42 }, headers: {} }), 'ERR_AUTH_TOKEN_INVALID', 'malformed', 'a token that is not a string');

    const provisioned = (findOrCreate: () => unknown) => () => authenticateToken(manager, accessToken, { users: { findOrCreate: findOrCreate as never } });
    await refusedWith(provisioned(() => ({ id: 'u1', isDisabled: true })), 'ERR_USER_DISABLED', 'user_disabled', 'a disabled user');
    await refusedWith(provisioned(() => null), 'ERR_USER_PROVISIONING_FAILED', 'not_a_user', 'no user');
    const thrown = await refusedWith(
      provisioned(() => {
        throw new Error('users table is locked');
      }),
      'ERR_USER_PROVISIONING_FAILED',
      'user_store',
      'the user store threw',
    );
    assert.is(thrown.message, 'the user could not be provisioned');
    await refusedWith(
      provisioned(() => {
        throw new SessionError('ERR_STORAGE_UNAVAILABLE');
      }),
      'ERR_STORAGE_UNAVAILABLE',
      'user_store',
      'the user store is down',
    );
    // A session-core refusal keeps its reason through the adapter.
    await refusedWith(() => authenticateToken(manager, `${accessToken.slice(0, -2)}AA`), 'ERR_AUTH_TOKEN_INVALID', 'signature', 'a forged signature');
  } finally {
    await c.run();
  }
});

async function expressApp(c: Cleanup, manager: SessionVerifier, options: HttpAuthOptions): Promise<string> {
  const app = express();
  app.get('/me', httpAuth(manager, options), (req, res) => {
    res.json({ sub: req.auth?.sub ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
}

async function fastifyApp(c: Cleanup, manager: SessionVerifier, options: HttpAuthOptions): Promise<string> {
  const app = Fastify();
  c.add(() => app.close());
  // getToken here takes the raw request: the plugin calls it with Fastify's, which this test's function ignores.
  await app.register(fastifySessionAuth, { manager, ...(options as Omit<HttpAuthOptions, 'getToken'>), getToken: options.getToken as never });
  app.get('/me', async (request) => ({ sub: request.auth?.sub ?? null }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`;
}

S('httpAuth and the Fastify plugin: onError gets the reason; the body and WWW-Authenticate are the code\'s fixed text', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    // Same key, another audience: the signature verifies, the audience does not.
    const elsewhere = makeManager(c, { audience: 'https://other-api.test' });
    const { accessToken } = await elsewhere.create('alice');
    for (const [name, start] of [
      ['Express', expressApp],
      ['Fastify', fastifyApp],
    ] as const) {
      const reported: AuthError[] = [];
      const url = await start(c, manager, { realm: 'api', onError: (error) => reported.push(error) });
      const res = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
      const text = await res.text();
      assert.is(res.status, 401, name);
      assert.equal(JSON.parse(text), { error: 'ERR_AUTH_TOKEN_INVALID', message: 'the access token is invalid' }, name);
      assert.is(res.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token", error_description="the access token is invalid"', name);
      assert.not.ok(`${text} ${JSON.stringify([...res.headers])}`.includes('audience'), `${name}: the reason reached the client`);
      assert.is(reported.length, 1, name);
      check(reported[0], 'ERR_AUTH_TOKEN_INVALID', 'audience', `${name} onError`);

      // Caller code that throws: ERR_INTERNAL for the client, the cause for the operator.
      const failing = await start(c, manager, {
        getToken: () => {
          throw new Error('vault unreachable');
        },
        onError: (error) => reported.push(error),
      } as HttpAuthOptions);
      const internal = await fetch(failing);
      assert.is(internal.status, 500, name);
      assert.equal(await internal.json(), { error: 'ERR_INTERNAL', message: 'authentication failed unexpectedly' }, name);
      const last = check(reported.at(-1), 'ERR_INTERNAL', 'internal', `${name} onError (internal)`);
      assert.is((last.cause as Error).message, 'vault unreachable');

      // Optional authentication: a request without a token is not a refusal, so onError stays quiet.
      const optional = await start(c, manager, { credentialsRequired: false, onError: (error) => reported.push(error) });
      const before = reported.length;
      assert.is((await fetch(optional)).status, 200, name);
      assert.is(reported.length, before, `${name}: a request without a token was reported`);
    }
  } finally {
    await c.run();
  }
});

S('a throwing onError changes nothing for the client; a non-function onError fails at construction', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const url = await expressApp(c, manager, {
      onError: () => {
        throw new Error('logger down');
      },
    });
    const res = await fetch(url);
    assert.is(res.status, 401);
    assert.equal(await res.json(), { error: 'ERR_AUTH_TOKEN_REQUIRED', message: 'an access token is required' });
    for (const make of [() => httpAuth(manager, { onError: 'log' as never }), () => socketAuth(manager, { onError: 42 as never })]) {
      const error = await refusedWith(make, 'ERR_CONFIG_INVALID', 'option', 'onError of the wrong type');
      assert.match(error.message, 'onError must be a function');
    }
  } finally {
    await c.run();
  }
});

S('Socket.IO: handshakes (socketAuth and the guard), the tracker, renewals and the guard\'s own checks reach onError; connect_error data stays { code, message }', async () => {
  const c = new Cleanup();
  try {
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const manager = makeManager(c, { invalidAccessTokenCache: cache });
    const elsewhere = makeManager(c, { audience: 'https://other-api.test' });
    const reported: AuthError[] = [];
    const onError = (error: AuthError) => reported.push(error);
    const { io, url } = await startIo(c, manager, { guard: { onError, renewRateLimit: { max: 2, windowMs: 60_000 } } });
    io.on('connection', (socket) => socket.on('work', (ack: (answer: string) => void) => ack('done')));

    const foreign = await elsewhere.create('alice');
    const err = await refused(c, url, { auth: { token: foreign.accessToken } });
    assert.equal(err.data, { code: 'ERR_AUTH_TOKEN_INVALID', message: 'the access token is invalid' });
    assert.is(err.message, 'ERR_AUTH_TOKEN_INVALID');
    assert.not.ok(JSON.stringify(err).includes('audience'), 'the reason reached the client');
    check(reported.at(-1), 'ERR_AUTH_TOKEN_INVALID', 'audience', 'guard handshake');

    // The tracker of a plain socketAuth middleware (no guard).
    const tracked = await startIo(c, undefined, { guard: false });
    const trackerErrors: AuthError[] = [];
    tracked.io.use(
      socketAuth(manager, {
        onError: (error) => trackerErrors.push(error),
        sessions: {
          registerSocket: () => {
            throw new Error('sockets table is locked');
          },
          unregisterSocket: () => undefined,
        },
      }),
    );
    const mine = await manager.create('alice');
    const trackerRefusal = await refused(c, tracked.url, { auth: { token: mine.accessToken } });
    assert.equal(trackerRefusal.data, { code: 'ERR_STORAGE_UNAVAILABLE', message: 'a store is unavailable, try again later' });
    check(trackerErrors[0], 'ERR_STORAGE_UNAVAILABLE', 'tracker', 'socketAuth tracker');

    // Renewals: another session's token, then too many.
    const socket = await connect(c, url, { auth: { token: mine.accessToken } });
    const other = await manager.create('alice');
    const mismatch: RenewResult = await socket.timeout(2000).emitWithAck('session:renew', { token: other.accessToken });
    assert.equal(mismatch, { ok: false, code: 'ERR_SESSION_MISMATCH', message: 'the token belongs to another subject or session' });
    check(reported.at(-1), 'ERR_SESSION_MISMATCH', 'session_mismatch', 'renewal with another session');
    const limited: RenewResult = await socket.timeout(2000).emitWithAck('session:renew', { token: mine.accessToken });
    assert.ok(limited.ok);
    const over: RenewResult = await socket.timeout(2000).emitWithAck('session:renew', { token: mine.accessToken });
    assert.equal(over, { ok: false, code: 'ERR_RATE_LIMITED', message: 'too many requests, try again later' });
    check(reported.at(-1), 'ERR_RATE_LIMITED', 'rate_limited', 'renewal over the limit');

    // A revocation the cache knows but no event announced: the guard's per-packet check refuses the socket.
    assert.is(await socket.timeout(2000).emitWithAck('work'), 'done');
    cache.invalidateSession(mine.sessionId, 60_000);
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));
    await socket.timeout(2000).emitWithAck('work').catch(() => undefined);
    await gone;
    await until(() => reported.at(-1)?.code === 'ERR_SESSION_REVOKED');
    check(reported.at(-1), 'ERR_SESSION_REVOKED', 'revoked', 'the per-packet check');
  } finally {
    await c.run();
  }
});

S('every reason of ADAPTER_ERROR_REASONS was produced above', () => {
  const missing = ADAPTER_ERROR_REASONS.filter((reason: AdapterErrorReason) => !seen.has(reason));
  assert.equal(missing, [], `reasons never produced: ${missing.join(', ')}`);
});

S.run();

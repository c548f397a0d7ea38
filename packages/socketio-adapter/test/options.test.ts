import Fastify from 'fastify';
import { Server } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attachSessionGuard, AuthError, extractToken, httpAuth, socketAuth, type HttpAuthNetworkOptions, type HttpAuthOptions, type SessionGuardOptions, type SocketAuthOptions } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { GUARD_OPTION_NAMES, HTTP_OPTION_NAMES, SOCKET_OPTION_NAMES } from '../src/options.js';
import { Cleanup, makeManager } from './support.js';

const S = suite('options are checked at construction, naming the option (issues 10 and 12)');

function configError(run: () => unknown, mentions: string): void {
  try {
    run();
  } catch (error) {
    assert.instance(error, AuthError);
    assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
    assert.ok((error as AuthError).message.includes(mentions), `"${(error as AuthError).message}" names ${mentions}`);
    return;
  }
  assert.unreachable(`expected ERR_CONFIG_INVALID naming ${mentions}`);
}

S('httpAuth(undefined), socketAuth(undefined) and a guard without a manager fail at once, not on the first request', () => {
  // Guards: httpAuth(undefined) used to answer 500 ERR_INTERNAL on the first request instead of failing at start-up.
  configError(() => httpAuth(undefined as never), 'manager');
  configError(() => socketAuth({} as never), 'manager');
  // Never attached to an HTTP server, so there is nothing to close.
  const io = new Server();
  try {
    configError(() => attachSessionGuard(io, null as never), 'manager');
    configError(() => attachSessionGuard({} as never, null as never), 'io');
  } finally {
  }
});

S('each option is checked: allowedOrigins an array or a function, users, sessions, prefixes, realm, renewRateLimit, namespaces', () => {
  const c = new Cleanup();
  const manager = makeManager(c);
  // Never attached to an HTTP server, so there is nothing to close.
  const io = new Server();
  try {
    configError(() => httpAuth(manager, { cookie: { name: 'at', allowedOrigins: 'https://app.test' as never } }), 'cookie.allowedOrigins');
    configError(() => httpAuth(manager, { cookie: { name: 'a b', allowedOrigins: [] } }), 'cookie.name');
    configError(() => httpAuth(manager, { users: {} as never }), 'users');
    configError(() => httpAuth(manager, { realm: 7 as never }), 'realm');
    configError(() => httpAuth(manager, 'yes' as never), 'options');
    configError(() => socketAuth(manager, { sessions: { registerSocket: () => undefined } as never }), 'sessions');
    configError(() => socketAuth(manager, { userRoomPrefix: 1 as never }), 'userRoomPrefix');
    configError(() => attachSessionGuard(io, manager, { renewRateLimit: { max: 0, windowMs: 1000 } }), 'renewRateLimit');
    configError(() => attachSessionGuard(io, manager, { renewRateLimit: { max: 5, windowMs: 1000, perLifetime: 0 } }), 'renewRateLimit');
    configError(() => attachSessionGuard(io, manager, { renewRateLimit: { max: 5, windowMs: 1000, perLifetime: '4' as never } }), 'renewRateLimit');
    configError(() => attachSessionGuard(io, manager, { namespaces: '/chat' as never }), 'namespaces');
    const throwing = Object.defineProperty({}, 'users', { get: () => { throw new Error('getter'); } });
    configError(() => httpAuth(manager, throwing), 'users');
    // Still fine: the documented forms.
    httpAuth(manager, { cookie: { name: 'at', allowedOrigins: ['https://app.test'] } });
    httpAuth(manager, { cookie: { name: 'at', allowedOrigins: (origin) => origin.endsWith('.test') } });
    attachSessionGuard(io, manager, { renewRateLimit: { max: 5, windowMs: 1000 } }).close();
    attachSessionGuard(io, manager, { renewRateLimit: { max: 5, windowMs: 1000, perLifetime: 2.5 } }).close();
  } finally {
    void c.run();
  }
});

S('the Fastify plugin registered without a manager fails app start-up with ERR_CONFIG_INVALID', async () => {
  // Guards: registering without a manager used to start the app and answer 500 on every request.
  const app = Fastify();
  try {
    await app.register(fastifySessionAuth, {} as never);
    await app.ready();
    assert.unreachable('the app started');
  } catch (error) {
    assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
    assert.match((error as AuthError).message, /fastifySessionAuth: manager/);
  } finally {
    await app.close().catch(() => undefined);
  }
});

S('extractToken: a non-string cookie or Authorization header is a malformed request, not a TypeError', () => {
  // Guards: extractToken with a non-string cookie header threw a raw TypeError.
  const cookie = { name: 'at', allowedOrigins: ['https://app.test'] };
  for (const headers of [{ cookie: 42 }, { cookie: { at: 'x' } }, { authorization: ['Bearer a', 'Bearer b'] }]) {
    try {
      extractToken({ headers: headers as never }, { cookie });
      assert.unreachable('accepted');
    } catch (error) {
      assert.is((error as AuthError).code, 'ERR_AUTH_HEADER_MALFORMED', JSON.stringify(headers));
    }
  }
  assert.is(extractToken({ headers: { cookie: ['x=1', 'at=tok'], origin: 'https://app.test' } as never }, { cookie }).token, 'tok');
});

/** True only when A and B are the same union: the name lists cannot drift from the option interfaces. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const listsMatchInterfaces: [
  Same<(typeof HTTP_OPTION_NAMES)[number], keyof HttpAuthNetworkOptions>,
  Same<(typeof SOCKET_OPTION_NAMES)[number], keyof SocketAuthOptions>,
  Same<(typeof GUARD_OPTION_NAMES)[number], keyof SessionGuardOptions>,
] = [true, true, true];

S('an option no adapter knows (express-jwt\'s secret, algorithms, requestProperty, isRevoked, onExpired, credentialsRequired) is refused at construction, named', async () => {
  // Guards (issue 28): a ported express-jwt test passed { secret, algorithms } and they were silently ignored.
  assert.equal(listsMatchInterfaces, [true, true, true]);
  const c = new Cleanup();
  const manager = makeManager(c);
  const io = new Server();
  try {
    configError(() => httpAuth(manager, { secret: 'shh', algorithms: ['HS256'] } as never), 'httpAuth: secret is not an option (keys and algorithms');
    configError(() => httpAuth(manager, { requestProperty: 'user' } as never), 'requestProperty is not an option');
    configError(() => httpAuth(manager, { isRevoked: () => false } as never), 'isRevoked is not an option');
    configError(() => httpAuth(manager, { onExpired: () => undefined } as never), 'onExpired is not an option');
    configError(() => httpAuth(manager, { credentialRequired: false } as never), 'credentialRequired is not an option');
    configError(() => socketAuth(manager, { credentialsRequired: false } as never), 'socketAuth: credentialsRequired is not an option');
    // socketAuth takes no guard option either: a clock there would do nothing.
    configError(() => socketAuth(manager, { clock: Date.now } as never), 'socketAuth: clock is not an option');
    configError(() => attachSessionGuard(io, manager, { algorithms: ['HS256'] } as never), 'attachSessionGuard: algorithms is not an option');
    // A key that does not look like a name is not quoted back (it is caller text).
    configError(() => httpAuth(manager, { 'x\ny': 1 } as never), 'httpAuth: options hold an unknown option');
    // Every documented name still passes, the guard's own ones through its inner socketAuth too.
    httpAuth(manager, { realm: 'api', credentialsRequired: false, allowPreflight: true, getToken: () => undefined, users: { findOrCreate: (id) => ({ id }) } });
    socketAuth(manager, { userRoomPrefix: 'u:', sessionRoomPrefix: 's:' });
    attachSessionGuard(io, manager, { clock: Date.now, namespaces: ['/'], telemetry: false, renewRateLimit: { max: 5, windowMs: 1000 } }).close();
    const app = Fastify();
    try {
      await app.register(fastifySessionAuth, { manager, secret: 'shh' } as never);
      await app.ready();
      assert.unreachable('the app started');
    } catch (error) {
      assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as AuthError).message, /fastifySessionAuth: secret is not an option/);
    } finally {
      await app.close().catch(() => undefined);
    }
    // Fastify's own registration options are not ours to refuse.
    const scoped = Fastify();
    await scoped.register(fastifySessionAuth, { manager, prefix: '/api', global: false });
    await scoped.ready();
    await scoped.close();
  } finally {
    await c.run();
  }
});

S.run();

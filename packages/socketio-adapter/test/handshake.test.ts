import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io';
import { socketAuth, type AuthContext, type SessionTracker } from '../src/index.js';
import { Cleanup, client, connect, makeManager, refused, startIo, next, until, type ConnectError } from './support.js';

const S = suite('socket handshake');

function assertRefused(err: ConnectError, code: string, ...secrets: string[]): void {
  assert.is(err.message, code);
  assert.is(err.data?.code, code);
  assert.type(err.data?.message, 'string');
  for (const secret of secrets) {
    assert.not.ok(err.message.includes(secret), 'no token in err.message');
    assert.not.ok(err.data!.message.includes(secret), 'no token in err.data.message');
  }
}

async function serverSocket(io: { once(event: 'connection', fn: (s: Socket) => void): unknown }): Promise<Socket> {
  return new Promise((resolve) => io.once('connection', resolve));
}

S('auth.token: accepted, socket.data.auth has the documented shape, rooms joined', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    const tokens = await manager.create('alice', {
      claims: { email: 'a@x.test', name: 'Alice', roles: ['admin', 'editor'], permissions: ['read', 'write'], features: { beta: true, old: false } },
    });
    const arrived = serverSocket(io);
    await connect(c, url, { auth: { token: tokens.accessToken } });
    const socket = await arrived;
    const auth = socket.data.auth as AuthContext;
    assert.equal(Object.keys(auth).sort(), ['claims', 'expiresAt', 'features', 'permissions', 'role', 'roles', 'sessionId', 'sub', 'userId']);
    assert.is(auth.sub, 'alice');
    assert.is(auth.userId, 'alice');
    assert.is(auth.sessionId, tokens.sessionId);
    assert.is(auth.role, 'admin');
    assert.equal(auth.roles, ['admin', 'editor']);
    assert.equal(auth.permissions, ['read', 'write']);
    assert.equal(auth.features, ['beta']);
    assert.is(auth.expiresAt, tokens.accessTokenExpiresAt);
    assert.is(auth.claims.sid, tokens.sessionId);
    assert.not.ok(JSON.stringify(socket.data).includes(tokens.accessToken), 'the token is not kept in socket.data');
    assert.ok(socket.rooms.has('user:alice'));
    assert.ok(socket.rooms.has(`session:${tokens.sessionId}`));
  } finally {
    await c.run();
  }
});

S('role defaults to "user" without roles; a "Bearer " prefix in auth.token is tolerated; scope becomes permissions', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    const tokens = await manager.create('bob', { claims: { scope: 'read write', features: ['x'] } });
    const arrived = serverSocket(io);
    await connect(c, url, { auth: { token: `Bearer ${tokens.accessToken}` } });
    const auth = (await arrived).data.auth as AuthContext;
    assert.is(auth.role, 'user');
    assert.equal(auth.roles, []);
    assert.equal(auth.permissions, ['read', 'write']);
    assert.equal(auth.features, ['x']);
    const single = await manager.create('carol', { claims: { role: 'moderator' } });
    const arrived2 = serverSocket(io);
    await connect(c, url, { auth: { token: single.accessToken } });
    assert.is(((await arrived2).data.auth as AuthContext).role, 'moderator');
  } finally {
    await c.run();
  }
});

S('Authorization: Bearer header, scheme case-insensitive, over websocket and polling', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { url } = await startIo(c, manager);
    const { accessToken } = await manager.create('alice');
    for (const transports of [['websocket'], ['polling']]) {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const socket = await connect(c, url, { transports, extraHeaders: { authorization: `${scheme} ${accessToken}` } });
        assert.ok(socket.connected);
      }
    }
  } finally {
    await c.run();
  }
});

S('precedence: auth.token over the header, the header over the cookie', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const cookie = { name: 'at', allowedOrigins: ['https://app.test'] };
    const { url } = await startIo(c, manager, { guard: { cookie } });
    const { accessToken } = await manager.create('alice');
    const bad = 'e30.e30.e30';
    // A valid auth.token wins over a broken header.
    await connect(c, url, { auth: { token: accessToken }, extraHeaders: { authorization: `Bearer ${bad}` } });
    // An invalid auth.token is not rescued by a valid header: auth.token is read first.
    assertRefused(await refused(c, url, { auth: { token: bad }, extraHeaders: { authorization: `Bearer ${accessToken}` } }), 'ERR_AUTH_TOKEN_INVALID');
    // The header wins over the cookie.
    await connect(c, url, { extraHeaders: { authorization: `Bearer ${accessToken}`, cookie: `at=${bad}`, origin: 'https://app.test' } });
    assertRefused(
      await refused(c, url, { extraHeaders: { authorization: `Bearer ${bad}`, cookie: `at=${accessToken}`, origin: 'https://app.test' } }),
      'ERR_AUTH_TOKEN_INVALID',
    );
    // A non-Bearer scheme is no bearer token: the cookie is used.
    await connect(c, url, { extraHeaders: { authorization: 'Basic dTpw', cookie: `other=1; at=${accessToken}`, origin: 'https://app.test' } });
  } finally {
    await c.run();
  }
});

S('cookie: ignored unless configured; needs an allowed Origin (cross-site and missing Origin refused)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    const plain = await startIo(c, manager);
    assertRefused(await refused(c, plain.url, { extraHeaders: { cookie: `at=${accessToken}`, origin: 'https://app.test' } }), 'ERR_AUTH_TOKEN_REQUIRED', accessToken);

    const withCookie = await startIo(c, manager, { guard: { cookie: { name: 'at', allowedOrigins: ['https://app.test'] } } });
    await connect(c, withCookie.url, { extraHeaders: { cookie: `at=${encodeURIComponent(accessToken)}`, origin: 'https://app.test' } });
    assertRefused(await refused(c, withCookie.url, { extraHeaders: { cookie: `at=${accessToken}`, origin: 'https://evil.test' } }), 'ERR_ORIGIN_NOT_ALLOWED', accessToken);
    assertRefused(await refused(c, withCookie.url, { extraHeaders: { cookie: `at=${accessToken}` } }), 'ERR_ORIGIN_NOT_ALLOWED', accessToken);
    assertRefused(await refused(c, withCookie.url, { extraHeaders: { cookie: `at=${accessToken}`, origin: 'null' } }), 'ERR_ORIGIN_NOT_ALLOWED', accessToken);

    const predicate = await startIo(c, manager, { guard: { cookie: { name: 'at', allowedOrigins: (o) => o.endsWith('.corp.test') } } });
    await connect(c, predicate.url, { extraHeaders: { cookie: `at="${accessToken}"`, origin: 'https://a.corp.test' } });
    assertRefused(await refused(c, predicate.url, { extraHeaders: { cookie: `at=${accessToken}`, origin: 'https://corp.test.evil' } }), 'ERR_ORIGIN_NOT_ALLOWED');

    // A throwing predicate is a bug on the server side: ERR_INTERNAL, and the server keeps serving.
    const broken = await startIo(c, manager, {
      guard: {
        cookie: {
          name: 'at',
          allowedOrigins: () => {
            throw new Error(`boom ${accessToken}`);
          },
        },
      },
    });
    assertRefused(await refused(c, broken.url, { extraHeaders: { cookie: `at=${accessToken}`, origin: 'https://a.test' } }), 'ERR_INTERNAL', accessToken);
    assert.ok((await connect(c, broken.url, { auth: { token: accessToken } })).connected);
  } finally {
    await c.run();
  }
});

S('the query string is never a token source', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { url } = await startIo(c, manager);
    const { accessToken } = await manager.create('alice');
    for (const key of ['token', 'access_token', 'auth']) {
      assertRefused(await refused(c, url, { query: { [key]: accessToken } }), 'ERR_AUTH_TOKEN_REQUIRED', accessToken);
    }
  } finally {
    await c.run();
  }
});

S('each failure code, with no token in any message', async () => {
  const c = new Cleanup();
  try {
    let now = Date.now();
    const manager = makeManager(c, { clock: () => now, accessTokenTtl: 60 });
    const { url } = await startIo(c, manager);
    const live = await manager.create('alice');
    const revoked = await manager.create('alice');
    await manager.deleteOne('alice', revoked.sessionId);

    assertRefused(await refused(c, url), 'ERR_AUTH_TOKEN_REQUIRED');
    assertRefused(await refused(c, url, { auth: { token: '' } }), 'ERR_AUTH_TOKEN_REQUIRED');
    assertRefused(await refused(c, url, { auth: { token: 42 } }), 'ERR_AUTH_TOKEN_INVALID');
    const forged = `${live.accessToken.slice(0, -4)}AAAA`;
    assertRefused(await refused(c, url, { auth: { token: forged } }), 'ERR_AUTH_TOKEN_INVALID', forged, live.accessToken);
    assertRefused(await refused(c, url, { auth: { token: 'not a jwt at all' } }), 'ERR_AUTH_TOKEN_INVALID', 'not a jwt at all');
    assertRefused(await refused(c, url, { auth: { token: revoked.accessToken } }), 'ERR_SESSION_REVOKED', revoked.accessToken);
    assertRefused(await refused(c, url, { extraHeaders: { authorization: 'Bearer' } }), 'ERR_AUTH_HEADER_MALFORMED');
    assertRefused(await refused(c, url, { extraHeaders: { authorization: `Bearer ${live.accessToken} extra` } }), 'ERR_AUTH_HEADER_MALFORMED', live.accessToken);
    now += 120_000;
    assertRefused(await refused(c, url, { auth: { token: live.accessToken } }), 'ERR_AUTH_TOKEN_EXPIRED', live.accessToken);
  } finally {
    await c.run();
  }
});

S('provisioning: findOrCreate(sub, { email, name }) on every handshake; userId = id; its role wins', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const calls: unknown[][] = [];
    const users = {
      findOrCreate(sub: string, profile: { email: string | undefined; name: string | undefined }) {
        calls.push([sub, profile]);
        return { id: `u-${sub}`, role: 'owner', isDisabled: false };
      },
    };
    const { io, url } = await startIo(c, manager, { guard: { users } });
    const { accessToken } = await manager.create('alice', { claims: { email: 'a@x.test', name: 'Alice', roles: ['viewer'] } });
    const arrived = serverSocket(io);
    await connect(c, url, { auth: { token: accessToken } });
    const socket = await arrived;
    const auth = socket.data.auth as AuthContext;
    assert.is(auth.userId, 'u-alice');
    assert.is(auth.sub, 'alice');
    assert.is(auth.role, 'owner');
    assert.equal(auth.roles, ['owner']);
    assert.ok(socket.rooms.has('user:u-alice'));
    await connect(c, url, { auth: { token: accessToken } });
    assert.equal(calls, [
      ['alice', { email: 'a@x.test', name: 'Alice' }],
      ['alice', { email: 'a@x.test', name: 'Alice' }],
    ]);
    // Roles, permissions and features from the user store replace the claims'.
    const full = await startIo(c, manager, {
      guard: { users: { findOrCreate: async () => ({ id: 'u1', roles: ['a', 'b'], permissions: ['p'], features: ['f'] }) } },
    });
    const arrived2 = serverSocket(full.io);
    await connect(c, full.url, { auth: { token: accessToken } });
    const auth2 = (await arrived2).data.auth as AuthContext;
    assert.equal([auth2.role, auth2.roles, auth2.permissions, auth2.features], ['a', ['a', 'b'], ['p'], ['f']]);
  } finally {
    await c.run();
  }
});

S('provisioning: a disabled user is refused with a valid token; a throwing or broken findOrCreate refuses and the server keeps running', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    let mode: 'ok' | 'disabled' | 'throw' | 'down' | 'garbage' = 'disabled';
    const users = {
      async findOrCreate(sub: string) {
        if (mode === 'throw') throw new Error('db exploded with secret details');
        if (mode === 'down') throw Object.assign(new Error('connection refused'), { code: 'ERR_STORAGE_UNAVAILABLE' });
        if (mode === 'garbage') return null as never;
        return { id: sub, role: 'user', isDisabled: mode === 'disabled' };
      },
    };
    const { url } = await startIo(c, manager, { guard: { users } });
    const { accessToken } = await manager.create('alice');
    assertRefused(await refused(c, url, { auth: { token: accessToken } }), 'ERR_USER_DISABLED', accessToken);
    mode = 'throw';
    const thrown = await refused(c, url, { auth: { token: accessToken } });
    assertRefused(thrown, 'ERR_USER_PROVISIONING_FAILED', accessToken, 'secret details');
    mode = 'down';
    assertRefused(await refused(c, url, { auth: { token: accessToken } }), 'ERR_STORAGE_UNAVAILABLE');
    mode = 'garbage';
    assertRefused(await refused(c, url, { auth: { token: accessToken } }), 'ERR_USER_PROVISIONING_FAILED');
    mode = 'ok';
    assert.ok((await connect(c, url, { auth: { token: accessToken } })).connected, 'the server still serves');
  } finally {
    await c.run();
  }
});

S('session tracking: registerSocket(userId, socketId, sub) once accepted, unregisterSocket(socketId) on disconnect; a failing register refuses', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const log: string[] = [];
    let failRegister = false;
    const sessions: SessionTracker = {
      registerSocket(userId, socketId, sub) {
        if (failRegister) throw new Error('tracker down');
        log.push(`+${userId}/${socketId}/${sub}`);
      },
      async unregisterSocket(socketId) {
        log.push(`-${socketId}`);
        if (socketId.length > 0) throw new Error('unregister failing must not hurt');
      },
    };
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    c.add(() => process.off('warning', onWarning));
    const { io, url } = await startIo(c, manager, { guard: { sessions, users: { findOrCreate: (sub) => ({ id: `id-${sub}` }) } } });
    const { accessToken } = await manager.create('alice');
    const arrived = serverSocket(io);
    const socket = await connect(c, url, { auth: { token: accessToken } });
    const server = await arrived;
    assert.equal(log, [`+id-alice/${server.id}/alice`]);
    socket.disconnect();
    await until(() => log.length === 2);
    assert.equal(log[1], `-${server.id}`);
    await until(() => warnings.length === 1);
    assert.match(warnings[0]!, /^sessions.unregisterSocket failed \(no code\)$/);
    failRegister = true;
    assertRefused(await refused(c, url, { auth: { token: accessToken } }), 'ERR_STORAGE_UNAVAILABLE', accessToken);
    assert.is(log.length, 2);
  } finally {
    await c.run();
  }
});

S('socketAuth alone on io.use, with custom room prefixes; guard plus socketAuth authenticate once', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    let registered = 0;
    const options = { userRoomPrefix: 'u/', sessionRoomPrefix: 's/', sessions: { registerSocket: () => void registered++, unregisterSocket: () => undefined } };
    const plain = await startIo(c, manager, { guard: false });
    plain.io.use(socketAuth(manager, options));
    const { accessToken, sessionId } = await manager.create('alice');
    const arrived = serverSocket(plain.io);
    await connect(c, plain.url, { auth: { token: accessToken } });
    const socket = await arrived;
    assert.ok(socket.rooms.has('u/alice'));
    assert.ok(socket.rooms.has(`s/${sessionId}`));
    assertRefused(await refused(c, plain.url), 'ERR_AUTH_TOKEN_REQUIRED');

    const both = await startIo(c, manager, { guard: options });
    both.io.use(socketAuth(manager, options));
    registered = 0;
    await connect(c, both.url, { auth: { token: accessToken } });
    assert.is(registered, 1);
  } finally {
    await c.run();
  }
});

S('every namespace is guarded, including ones created after the guard and dynamic ones; app middlewares already see auth', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    const { accessToken } = await manager.create('alice');
    const later = io.of('/later');
    const seen: string[] = [];
    later.use((socket, nextFn) => {
      seen.push((socket.data.auth as AuthContext).sub);
      nextFn();
    });
    const dynamic = io.of(/^\/room-\d+$/);
    const arrived = new Promise<Socket>((resolve) => dynamic.once('connection', resolve));
    assertRefused(await refused(c, `${url}/later`), 'ERR_AUTH_TOKEN_REQUIRED');
    assertRefused(await refused(c, `${url}/room-1`), 'ERR_AUTH_TOKEN_REQUIRED');
    await connect(c, `${url}/later`, { auth: { token: accessToken } });
    assert.equal(seen, ['alice']);
    await connect(c, `${url}/room-2`, { auth: { token: accessToken } });
    assert.is(((await arrived).data.auth as AuthContext).sub, 'alice');
  } finally {
    await c.run();
  }
});

S('polling then upgrade to websocket keeps the authenticated socket', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    io.on('connection', (s) => s.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v)));
    const { accessToken } = await manager.create('alice');
    const arrived = serverSocket(io);
    const socket = client(c, url, { transports: ['polling', 'websocket'], upgrade: true, auth: { token: accessToken } });
    const server = await arrived;
    assert.is(server.conn.transport.name, 'polling', 'the handshake ran over polling');
    await until(() => socket.io.engine?.transport.name === 'websocket');
    assert.is(await socket.timeout(2000).emitWithAck('echo', 7), 7);
    assert.ok(socket.connected);
  } finally {
    await c.run();
  }
});

S.run();

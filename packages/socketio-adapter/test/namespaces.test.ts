import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Server, type Socket } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import type { AuthSocketData, NamespaceSelector, SessionRevokedPayload } from '../src/index.js';
import { Cleanup, connect, makeManager, next, refused, sleep, startIo } from './support.js';

const S = suite('attachSessionGuard({ namespaces }): public namespaces beside protected ones (issue 12)');

const selectors: [string, NamespaceSelector][] = [
  ['a list', ['/', '/chat']],
  ['a pattern', /^\/(chat)?$/],
  ['a predicate', (name) => name !== '/lobby'],
];

for (const [form, namespaces] of selectors) {
  S(`${form}: the public namespace takes anyone, the protected ones need a token and keep live revocation`, async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const { io, url } = await startIo(c, manager, { guard: { namespaces } });
      const lobby = io.of('/lobby');
      io.of('/chat');
      const lobbySockets: Socket[] = [];
      lobby.on('connection', (s) => lobbySockets.push(s));
      // Anyone, no token: not authenticated, not guarded.
      const visitor = await connect(c, `${url}/lobby`);
      assert.ok(visitor.connected);
      assert.is(lobbySockets[0]!.data.auth, undefined);
      assert.is((await refused(c, `${url}/chat`)).data?.code, 'ERR_AUTH_TOKEN_REQUIRED');
      assert.is((await refused(c, url)).data?.code, 'ERR_AUTH_TOKEN_REQUIRED');

      // One client, two namespaces on one connection: revocation drops the protected one only.
      const tokens = await manager.create('alice');
      const manager_ = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: tokens.accessToken } }).io;
      const chat = manager_.socket('/chat', { auth: { token: tokens.accessToken } });
      const hall = manager_.socket('/lobby');
      c.add(() => manager_.engine?.close());
      chat.connect();
      hall.connect();
      await Promise.all([next(chat, 'connect'), next(hall, 'connect')]);
      const revoked = next<SessionRevokedPayload>(chat, 'session:revoked');
      await manager.deleteOne('alice', tokens.sessionId);
      assert.equal(await revoked, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });
      await sleep(30);
      assert.not.ok(chat.connected);
      assert.ok(hall.connected, 'the public namespace is not touched by the revocation');
    } finally {
      await c.run();
    }
  });
}

S('dynamic namespaces are selected by their child names as they appear', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager, { guard: { namespaces: /^\/private-/ } });
    io.of(/^\/(private|public)-\d+$/);
    const { accessToken } = await manager.create('alice');
    assert.is((await refused(c, `${url}/private-1`)).data?.code, 'ERR_AUTH_TOKEN_REQUIRED');
    assert.ok((await connect(c, `${url}/private-2`, { auth: { token: accessToken } })).connected);
    assert.ok((await connect(c, `${url}/public-1`)).connected);
  } finally {
    await c.run();
  }
});

S('auth.user on a socket: the whole findOrCreate answer, typed through AuthSocketData<User>', async () => {
  const c = new Cleanup();
  try {
    interface MyUser {
      id: string;
      email: string;
    }
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager, { guard: { users: { findOrCreate: (sub): MyUser => ({ id: sub, email: `${sub}@x.test` }) } } });
    // Compile-time: a Server typed with AuthSocketData<MyUser> sees auth.user.email as a string.
    const typed = io as unknown as Server<Record<string, never>, Record<string, never>, Record<string, never>, AuthSocketData<MyUser>>;
    const arrived = new Promise<string | undefined>((resolve) => typed.once('connection', (socket) => resolve(socket.data.auth.user?.email)));
    const { accessToken } = await manager.create('alice');
    await connect(c, url, { auth: { token: accessToken } });
    assert.is(await arrived, 'alice@x.test');
    const [remote] = await io.fetchSockets();
    assert.equal((remote!.data as AuthSocketData<MyUser>).auth.user, { id: 'alice', email: 'alice@x.test' }, 'fetchSockets() carries it');
  } finally {
    await c.run();
  }
});

S.run();

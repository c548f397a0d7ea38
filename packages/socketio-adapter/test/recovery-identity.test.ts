import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { attachSessionGuard, type AuthContext, type SessionRevokedPayload } from '../src/index.js';
import { Cleanup, connect, makeManager, next, sleep, startIo, until, type IoServer } from './support.js';

const S = suite('connection-state recovery keeps the identity (issue 10 defect 3)');

const recovery = { server: { connectionStateRecovery: { maxDisconnectionDuration: 10_000 } } };

/**
 * Connects with a token chosen by `token()` at each (re)connection, gives the
 * socket an offset (recovery needs one, and only broadcasts carry it), then
 * drops the transport and waits until the server has noticed.
 */
async function connectThenDrop(c: Cleanup, server: IoServer, token: () => string): Promise<{ socket: ClientSocket; first: Socket }> {
  const serverSide = new Promise<Socket>((resolve) => server.io.once('connection', resolve));
  const socket = await connect(c, server.url, { auth: (cb) => cb({ token: token() }), reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  const first = await serverSide;
  const tick = next(socket, 'tick');
  server.io.emit('tick');
  await tick;
  const gone = new Promise((resolve) => first.once('disconnect', resolve));
  socket.io.engine.close();
  await gone;
  return { socket, first };
}

S('a recovered socket that comes back as another user is refused with ERR_SESSION_MISMATCH and never receives the old user\'s messages', async () => {
  // Guards: with recovery, the guard used to re-verify whatever token came back, so the socket was
  // authenticated as bob while still in user:alice and session:<alice's sid>, receiving alice's messages.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const server = await startIo(c, manager, recovery);
    const alice = await manager.create('alice');
    const bob = await manager.create('bob');
    let token = alice.accessToken;
    const { socket } = await connectThenDrop(c, server, () => token);
    token = bob.accessToken;
    const received: string[] = [];
    socket.on('private', (m: string) => received.push(m));
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    await next(socket, 'connect');
    assert.ok(socket.recovered, 'Socket.IO recovered the socket (middlewares skipped)');
    assert.equal(await revoked, { code: 'ERR_SESSION_MISMATCH', reason: 'unverified' });
    socket.io.reconnection(false);
    await until(() => !socket.connected);
    server.io.to('user:alice').emit('private', 'for alice');
    server.io.to(`session:${alice.sessionId}`).emit('private', 'for alice\'s session');
    await sleep(50);
    assert.equal(received, [], 'nothing addressed to alice reached the socket');
    const sockets = await server.io.in('user:alice').fetchSockets();
    assert.is(sockets.length, 0, 'no socket is left in alice\'s room');
  } finally {
    await c.run();
  }
});

S('a recovered socket that comes back with another session of the same user is refused with ERR_SESSION_MISMATCH', async () => {
  // Guards: the old session's revocation must not miss a socket that silently moved to another session.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const server = await startIo(c, manager, recovery);
    const first = await manager.create('alice');
    const second = await manager.create('alice');
    let token = first.accessToken;
    const { socket } = await connectThenDrop(c, server, () => token);
    token = second.accessToken;
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    await next(socket, 'connect');
    assert.ok(socket.recovered);
    assert.equal(await revoked, { code: 'ERR_SESSION_MISMATCH', reason: 'unverified' });
    socket.io.reconnection(false);
  } finally {
    await c.run();
  }
});

S('a recovered socket with a fresh token of the same session keeps its rooms and its guard', async () => {
  // Guards: the identity check must not refuse the normal case (the access token was renewed during the outage).
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const server = await startIo(c, manager, recovery);
    const tokens = await manager.create('alice');
    let token = tokens.accessToken;
    const { socket } = await connectThenDrop(c, server, () => token);
    const rotated = await manager.update(tokens.refreshToken);
    token = rotated.accessToken;
    const recovered = new Promise<Socket>((resolve) => server.io.once('connection', resolve));
    await next(socket, 'connect');
    assert.ok(socket.recovered);
    const serverSocket = await recovered;
    await until(() => serverSocket.rooms.has('user:alice') && serverSocket.rooms.has(`session:${tokens.sessionId}`));
    assert.is((serverSocket.data.auth as AuthContext).claims.jti, (await manager.read(rotated.accessToken)).jti, 'the context is the new token\'s');
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    await manager.deleteOne('alice', tokens.sessionId);
    assert.equal(await revoked, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });
    socket.io.reconnection(false);
  } finally {
    await c.run();
  }
});

S('a recovered socket the guard never saw (no identity restored) starts with no restored rooms or data', async () => {
  // Guards: without a previous identity to compare, nothing restored may carry over to the new one.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const server = await startIo(c, undefined, recovery);
    server.io.on('connection', (s) => {
      if (!s.recovered) {
        s.data = { note: 'from before' };
        void s.join('secret-room');
      }
    });
    const tokens = await manager.create('alice');
    const { socket } = await connectThenDrop(c, server, () => tokens.accessToken);
    const guard = attachSessionGuard(server.io, manager);
    c.add(() => guard.close());
    const recovered = new Promise<Socket>((resolve) => server.io.once('connection', resolve));
    await next(socket, 'connect');
    assert.ok(socket.recovered);
    const serverSocket = await recovered;
    await until(() => serverSocket.rooms.has('user:alice'));
    assert.equal([...serverSocket.rooms].sort(), [serverSocket.id, `session:${tokens.sessionId}`, 'user:alice'].sort());
    assert.equal(Object.keys(serverSocket.data as object), ['auth']);
    socket.io.reconnection(false);
  } finally {
    await c.run();
  }
});

S.run();

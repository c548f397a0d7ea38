import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Server } from 'socket.io';
import type { DefaultEventsMap } from 'socket.io';
import { attachSessionGuard, disconnectSession, disconnectUser, isUserOnline, socketAuth, socketsOfUser, userRoom, sessionRoom, type AuthSocketData } from '../src/index.js';
import { Cleanup, connect, makeManager, next, sleep, startIo } from './support.js';

const S = suite('helpers');

S('socketsOfUser / isUserOnline see every socket of the user with its data.auth', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    assert.is(await isUserOnline(io, 'alice'), false);
    const a = await manager.create('alice');
    const b = await manager.create('alice');
    await connect(c, url, { auth: { token: a.accessToken } });
    await connect(c, url, { auth: { token: b.accessToken } });
    const sockets = await socketsOfUser(io, 'alice');
    assert.is(sockets.length, 2);
    assert.equal(sockets.map((s) => s.data.auth.sessionId).sort(), [a.sessionId, b.sessionId].sort());
    assert.ok(await isUserOnline(io, 'alice'));
    assert.is(await isUserOnline(io, 'bob'), false);
    assert.is(await isUserOnline(io.of('/'), 'alice'), true, 'a Namespace works as well');
  } finally {
    await c.run();
  }
});

S('disconnectSession drops one session, disconnectUser all of the user; custom prefixes', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const prefixes = { userRoomPrefix: 'u#', sessionRoomPrefix: 's#' };
    const { io, url } = await startIo(c, manager, { guard: prefixes });
    assert.is(userRoom('x', prefixes), 'u#x');
    assert.is(sessionRoom('y'), 'session:y');
    const a = await manager.create('alice');
    const b = await manager.create('alice');
    const sa = await connect(c, url, { auth: { token: a.accessToken } });
    const sb = await connect(c, url, { auth: { token: b.accessToken } });
    const gone = next<string>(sa, 'disconnect');
    disconnectSession(io, a.sessionId, prefixes);
    assert.is(await gone, 'io server disconnect');
    await sleep(30);
    assert.ok(sb.connected);
    const goneB = next<string>(sb, 'disconnect');
    disconnectUser(io, 'alice', prefixes);
    await goneB;
    assert.is(await isUserOnline(io, 'alice', prefixes), false);
  } finally {
    await c.run();
  }
});

S('typing: a Server<…, AuthSocketData> takes the middleware and the guard, and socket.data.auth is typed (compile-time)', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, AuthSocketData>();
    c.add(() => io.close());
    io.use(socketAuth(manager));
    io.of('/typed').use(socketAuth(manager));
    const guard = attachSessionGuard(io, manager);
    c.add(() => guard.close());
    io.on('connection', (socket) => {
      const userId: string = socket.data.auth.userId;
      void userId;
    });
    const remote = await socketsOfUser(io, 'nobody');
    const roles: string[][] = remote.map((s) => s.data.auth.roles);
    assert.equal(roles, []);
  } finally {
    await c.run();
  }
});

S.run();

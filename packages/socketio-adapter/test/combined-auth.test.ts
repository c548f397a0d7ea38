import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io';
import { socketAuth, type AuthContext } from '../src/index.js';
import { Cleanup, connect, makeManager, next, refused, startIo, until } from './support.js';

const S = suite('guard plus the application\'s own socketAuth (issue 10 defect 4)');

function serverSocket(io: { once(event: 'connection', fn: (s: Socket) => void): unknown }): Promise<Socket> {
  return new Promise((resolve) => io.once('connection', resolve));
}

S('the application\'s socketAuth options apply after the guard: a disabled user is refused, its user id and rooms win', async () => {
  // Guards: the guard's middleware marked the socket accepted and a later io.use(socketAuth(manager, { users }))
  // did nothing, so a user whose findOrCreate said isDisabled: true connected (the README recommended this combination).
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager);
    const registered: string[] = [];
    const users = { findOrCreate: (sub: string) => ({ id: `db-${sub}`, isDisabled: sub === 'mallory' }) };
    const sessions = { registerSocket: (userId: string) => void registered.push(userId), unregisterSocket: () => undefined };
    io.use(socketAuth(manager, { users, sessions }));
    const mallory = await manager.create('mallory');
    const refusal = await refused(c, url, { auth: { token: mallory.accessToken } });
    assert.equal([refusal.message, refusal.data?.code], ['ERR_USER_DISABLED', 'ERR_USER_DISABLED']);

    const alice = await manager.create('alice');
    const arrived = serverSocket(io);
    await connect(c, url, { auth: { token: alice.accessToken } });
    const socket = await arrived;
    assert.is((socket.data.auth as AuthContext).userId, 'db-alice');
    assert.ok(socket.rooms.has('user:db-alice'), 'joined the provisioned user\'s room');
    assert.not.ok(socket.rooms.has('user:alice'), 'left the room the guard joined before provisioning');
    assert.equal(registered, ['db-alice']);
  } finally {
    await c.run();
  }
});

S('options given to both: the guard\'s apply where the application\'s socketAuth sets none; a recovered socket gets the combined options', async () => {
  // Guards: honouring both must not drop the guard's own users when the app's socketAuth sets other options, and
  // a recovered socket (Socket.IO skips every middleware) must not escape the application's findOrCreate.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    let disabled = false;
    const users = { findOrCreate: (sub: string) => ({ id: sub, isDisabled: disabled }) };
    const { io, url } = await startIo(c, manager, { server: { connectionStateRecovery: { maxDisconnectionDuration: 10_000 } } });
    io.use(socketAuth(manager, { users, userRoomPrefix: 'member:' }));
    const tokens = await manager.create('alice');
    const arrived = serverSocket(io);
    const socket = await connect(c, url, { auth: { token: tokens.accessToken }, reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
    const first = await arrived;
    assert.ok(first.rooms.has('member:alice'));
    const tick = next(socket, 'tick');
    io.emit('tick');
    await tick;
    const gone = new Promise((resolve) => first.once('disconnect', resolve));
    socket.io.engine.close();
    await gone;
    disabled = true;
    const revoked = next<{ code: string; reason: string }>(socket, 'session:revoked');
    await next(socket, 'connect');
    assert.ok(socket.recovered);
    assert.equal(await revoked, { code: 'ERR_USER_DISABLED', reason: 'unverified' });
    socket.io.reconnection(false);
    await until(() => !socket.connected);
  } finally {
    await c.run();
  }
});

S.run();

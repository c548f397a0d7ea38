import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED } from '@jwt-session/session-core';
import { rejectsWith } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { SessionRevokedPayload } from '../src/index.js';
import { MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { Cleanup, client, connect, MemoryBroadcaster, makeManager, next, sleep, startIo, until } from './support.js';

const S = suite('live revocation');

/** Resolves with the revocation payload and the disconnect reason, in the order the client saw them. */
function revocation(socket: ClientSocket): Promise<{ payload: SessionRevokedPayload; reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    let payload: SessionRevokedPayload | undefined;
    let at = 0;
    const timer = setTimeout(() => reject(new Error('not revoked in time')), 3000);
    socket.once('session:revoked', (p: SessionRevokedPayload) => {
      payload = p;
      at = performance.now();
    });
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      if (payload === undefined) reject(new Error(`disconnected (${reason}) without session:revoked first`));
      else resolve({ payload, reason, at });
    });
  });
}

const latencies: number[] = [];

for (const transports of [['websocket'], ['polling']]) {
  S(`deleteOne on this node: session:revoked { reason: "deleted" }, then disconnected (${transports[0]}); the other session stays`, async () => {
    const c = new Cleanup();
    try {
      const manager = makeManager(c);
      const { url } = await startIo(c, manager);
      const one = await manager.create('alice');
      const two = await manager.create('alice');
      const s1 = await connect(c, url, { transports, auth: { token: one.accessToken } });
      const s2 = await connect(c, url, { transports, auth: { token: two.accessToken } });
      const revoked = revocation(s1);
      const start = performance.now();
      await manager.deleteOne('alice', one.sessionId);
      const { payload, reason, at } = await revoked;
      latencies.push(at - start);
      assert.equal(payload, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });
      assert.is(reason, 'io server disconnect');
      await sleep(50);
      assert.ok(s2.connected, 'another session of the same user is untouched');
    } finally {
      await c.run();
    }
  });
}

S('deleteAll: every socket of the subject issued before the call is revoked with reason "all"; a session created right after it, and other users, stay', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { url } = await startIo(c, manager);
    const a = await manager.create('alice');
    const b = await manager.create('alice');
    const other = await manager.create('bob');
    const sa = await connect(c, url, { auth: { token: a.accessToken } });
    const sb = await connect(c, url, { auth: { token: b.accessToken } });
    const so = await connect(c, url, { auth: { token: other.accessToken } });
    const ra = revocation(sa);
    const rb = revocation(sb);
    await manager.deleteAll('alice');
    const fresh = await manager.create('alice');
    const sf = await connect(c, url, { auth: { token: fresh.accessToken } });
    // Guards issue 12: a subject-wide revocation says `all`, so "signed out everywhere" is not read as "this session was revoked".
    assert.equal((await ra).payload, { code: 'ERR_SESSION_REVOKED', reason: 'all' });
    assert.equal((await rb).payload, { code: 'ERR_SESSION_REVOKED', reason: 'all' });
    // A second deleteAll-style event that predates the fresh token leaves it alone (the exact check is the manager's).
    await sleep(50);
    assert.ok(so.connected);
    assert.ok(sf.connected);
  } finally {
    await c.run();
  }
});

// Guards issue 10 item 7 on live sockets: deleteAll names the sessions it deleted, and a socket of one of
// them is disconnected even when its token is dated after the revocation's moment (issued by a node whose
// clock runs ahead, within clockTolerance). Before, only the per-packet check blocked it: the socket stayed
// connected and kept receiving its rooms' broadcasts.
S('deleteAll disconnects a socket of a deleted session whose token is dated after the revocation (a node clock ahead)', async () => {
  const c = new Cleanup();
  try {
    const broadcaster = new MemoryBroadcaster();
    const refreshTokenStore = new MemoryRefreshTokenStore();
    c.add(() => refreshTokenStore.close());
    const managerA = makeManager(c, { broadcaster, refreshTokenStore });
    const managerB = makeManager(c, { broadcaster, refreshTokenStore, clock: () => Date.now() + 3000 });
    const { url } = await startIo(c, managerA);
    const ahead = await managerB.create('alice');
    const socket = await connect(c, url, { auth: { token: ahead.accessToken } });
    const revoked = revocation(socket);
    assert.is(await managerA.deleteAll('alice'), 1);
    assert.equal((await revoked).payload, { code: 'ERR_SESSION_REVOKED', reason: 'all' });
    await rejectsWith(managerA.read(ahead.accessToken), 'ERR_SESSION_REVOKED');
  } finally {
    await c.run();
  }
});

S('refresh-token reuse revokes the session live with reason "reused"; eviction with reason "evicted"', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c, { maxSessionsPerSubject: 2 });
    const { url } = await startIo(c, manager);
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    const revoked = revocation(socket);
    await manager.update(tokens.refreshToken);
    await rejectsWith(manager.update(tokens.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    assert.equal((await revoked).payload, { code: 'ERR_SESSION_REVOKED', reason: 'reused' });

    const oldest = await manager.create('carol');
    await manager.create('carol');
    const s = await connect(c, url, { auth: { token: oldest.accessToken } });
    const evicted = revocation(s);
    await manager.create('carol');
    assert.equal((await evicted).payload, { code: 'ERR_SESSION_REVOKED', reason: 'evicted' });
  } finally {
    await c.run();
  }
});

S('another node (MemoryBroadcaster): deleteOne, deleteAll and reuse on A disconnect the socket on B', async () => {
  const c = new Cleanup();
  try {
    const broadcaster = new MemoryBroadcaster();
    const managerA = makeManager(c, { broadcaster });
    const managerB = makeManager(c, { broadcaster });
    const nodeB = await startIo(c, managerB);
    await startIo(c, managerA);

    const one = await managerA.create('alice');
    const s1 = await connect(c, nodeB.url, { auth: { token: one.accessToken } });
    const r1 = revocation(s1);
    const start = performance.now();
    await managerA.deleteOne('alice', one.sessionId);
    const first = await r1;
    latencies.push(first.at - start);
    assert.equal(first.payload, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });

    const two = await managerA.create('alice');
    const s2 = await connect(c, nodeB.url, { auth: { token: two.accessToken } });
    const r2 = revocation(s2);
    await managerA.deleteAll('alice');
    // The remote node tells a subject-wide revocation apart too (issue 12).
    assert.equal((await r2).payload, { code: 'ERR_SESSION_REVOKED', reason: 'all' });

    const three = await managerA.create('bob');
    const s3 = await connect(c, nodeB.url, { auth: { token: three.accessToken } });
    const r3 = revocation(s3);
    await managerA.update(three.refreshToken);
    await rejectsWith(managerA.update(three.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    assert.equal((await r3).payload, { code: 'ERR_SESSION_REVOKED', reason: 'reused' });
  } finally {
    await c.run();
  }
});

S('connection-state recovery: a recovered socket is re-verified; a session revoked during the outage is refused and its queued events never reach handlers', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { io, url } = await startIo(c, manager, { server: { connectionStateRecovery: { maxDisconnectionDuration: 10_000 } } });
    const handled: string[] = [];
    io.on('connection', (s) => s.on('work', (v: string) => handled.push(v)));

    // A healthy session recovers and stays guarded.
    const ok = await manager.create('bob');
    const healthy = await connect(c, url, { auth: { token: ok.accessToken }, reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
    // Recovery needs an offset, which only broadcasts carry.
    let tick = next(healthy, 'tick');
    io.emit('tick');
    await tick;
    healthy.io.engine.close();
    await next(healthy, 'connect');
    assert.ok(healthy.recovered, 'bob recovered');
    healthy.emit('work', 'bob-after-recovery');
    await until(() => handled.includes('bob-after-recovery'));
    const live = revocation(healthy);
    await manager.deleteOne('bob', ok.sessionId);
    assert.equal((await live).payload, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });

    // A session revoked while the client was away (after the server noticed the outage).
    const tokens = await manager.create('alice');
    const serverSide = new Promise<import('socket.io').Socket>((resolve) => io.once('connection', resolve));
    const socket = await connect(c, url, { auth: { token: tokens.accessToken }, reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200 });
    tick = next(socket, 'tick');
    io.emit('tick');
    await tick;
    let recoveredFlag = false;
    socket.on('connect', () => {
      recoveredFlag = socket.recovered;
      socket.emit('work', 'alice-after-recovery');
    });
    const gone = new Promise((resolve) => void serverSide.then((s) => s.once('disconnect', resolve)));
    socket.io.engine.close();
    await gone;
    await manager.deleteOne('alice', tokens.sessionId);
    const revoked = await revocation(socket);
    socket.io.reconnection(false);
    assert.ok(recoveredFlag, 'the socket was recovered (Socket.IO skipped the middlewares)');
    assert.equal(revoked.payload, { code: 'ERR_SESSION_REVOKED', reason: 'unverified' });
    await sleep(50);
    assert.not.ok(handled.includes('alice-after-recovery'), 'the event never reached the handler');
  } finally {
    await c.run();
  }
});

S('a revocation landing between the handshake\'s read() and the connection is not missed', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    let victim: string | undefined;
    const sessions = {
      // A slow registration (a database call) during which the session is revoked.
      async registerSocket(_userId: string, _socketId: string, sub: string) {
        if (victim !== undefined) await manager.deleteOne(sub, victim);
      },
      unregisterSocket: () => undefined,
    };
    const { io, url } = await startIo(c, manager, { guard: { sessions } });
    const handled: unknown[] = [];
    io.on('connection', (s) => s.on('work', (v: unknown) => handled.push(v)));
    const tokens = await manager.create('alice');
    victim = tokens.sessionId;
    const socket = client(c, url, { auth: { token: tokens.accessToken } });
    socket.on('connect', () => socket.emit('work', 'right-after-connect'));
    const { payload } = await revocation(socket);
    assert.equal(payload, { code: 'ERR_SESSION_REVOKED', reason: 'unverified' });
    await sleep(30);
    assert.equal(handled, [], 'the queued event was dropped');
  } finally {
    await c.run();
  }
});

S('guard.close() removes its listeners: revocations no longer disconnect, new handshakes are no longer checked', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const before = [manager.listenerCount(SESSION_INVALIDATED), manager.listenerCount(ALL_SESSIONS_INVALIDATED)];
    const { io, url, guard } = await startIo(c, manager);
    const later = io.of('/later');
    const tokens = await manager.create('alice');
    const socket = await connect(c, url, { auth: { token: tokens.accessToken } });
    await connect(c, `${url}/later`, { auth: { token: tokens.accessToken } });
    guard!.close();
    guard!.close();
    assert.equal([manager.listenerCount(SESSION_INVALIDATED), manager.listenerCount(ALL_SESSIONS_INVALIDATED)], before);
    assert.is(later.listeners('connection').length, 0);
    await manager.deleteOne('alice', tokens.sessionId);
    await sleep(50);
    assert.ok(socket.connected);
    assert.ok((await connect(c, `${url}/later`)).connected, 'no middleware left');
  } finally {
    await c.run();
  }
});

S('revocation latency (informative)', () => {
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`\n  revocation → client event: ${sorted.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  assert.ok(sorted.length >= 3);
});

S.run();

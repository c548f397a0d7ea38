import type { Server } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { socketAuth, type AuthError } from '../src/index.js';
import { useFirst } from '../src/guard/socketio-internals.js';
import { Cleanup, connect, makeManager, refused, startIo } from './support.js';

/*
 * Issue 6 (bench row 6): a handshake costs the guard about what the floor's
 * one HMAC check costs. These tests pin the structure that makes it so (what a
 * handshake does and does not wait for), never a timing: the machine running
 * them is shared.
 */
const S = suite('Socket.IO handshake: the per-handshake path');

type AnyMiddleware = Parameters<Server['use']>[0];

/**
 * A probe around the middleware(s) under test: `before` runs first and queues
 * a microtask; `after` (last in line) records whether that microtask had run,
 * i.e. whether anything between them waited for a promise.
 */
function sameTurnProbe(): { before: AnyMiddleware; after: AnyMiddleware; seen: boolean[] } {
  const pending = new WeakMap<object, () => boolean>();
  const seen: boolean[] = [];
  return {
    seen,
    before: (socket, next) => {
      let same = true;
      queueMicrotask(() => (same = false));
      pending.set(socket, () => same);
      next();
    },
    after: (socket, next) => {
      seen.push(pending.get(socket)?.() === true);
      next();
    },
  };
}

S('attachSessionGuard: with the manager (readSync) a handshake is accepted or refused in the same turn, no promise waited for', async () => {
  // Guards: every handshake waited for read()'s promise, then admit in a .then, then next in another.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    const errors: AuthError[] = [];
    const { io, url } = await startIo(c, manager, { guard: { onError: (error) => errors.push(error) } });
    const probe = sameTurnProbe();
    // The guard puts itself first; the probe goes before it to see the guard's whole run.
    useFirst(io.of('/'), probe.before);
    io.use(probe.after);
    const subs: string[] = [];
    io.on('connection', (socket) => subs.push((socket.data as { auth: { sub: string } }).auth.sub));
    await connect(c, url, { auth: { token: accessToken } });
    assert.equal(probe.seen, [true]);
    assert.equal(subs, ['alice']);
    const refusal = await refused(c, url, { auth: { token: 'e30.e30.e30' } });
    assert.equal([refusal.message, errors.map((error) => error.code)], ['ERR_AUTH_TOKEN_INVALID', ['ERR_AUTH_TOKEN_INVALID']]);
    assert.is(io.of('/').adapter.rooms.get('user:alice')?.size, 1);
  } finally {
    await c.run();
  }
});

S('socketAuth: the same turn with the manager; a user store is still waited for', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { accessToken } = await manager.create('alice');
    for (const [users, sameTurn] of [[undefined, true], [{ findOrCreate: async (sub: string) => ({ id: `u-${sub}` }) }, false]] as const) {
      const { io, url } = await startIo(c, undefined);
      const probe = sameTurnProbe();
      io.use(probe.before);
      io.use(socketAuth(manager, users === undefined ? {} : { users }));
      io.use(probe.after);
      const ids: string[] = [];
      io.on('connection', (socket) => ids.push((socket.data as { auth: { userId: string } }).auth.userId));
      await connect(c, url, { auth: { token: accessToken } });
      assert.equal([probe.seen, ids], [[sameTurn], [users === undefined ? 'alice' : 'u-alice']]);
    }
  } finally {
    await c.run();
  }
});

S.run();

import { createAdapter } from '@socket.io/redis-adapter';
import type { RedisServer } from '@jwt-session/redis-harness';
import type { JwtUserSessionManager } from '@jwt-session/session-core';
import { rejectsWith } from '@jwt-session/session-core/testing';
import { randomBytes } from 'node:crypto';
import { Redis as Redis5 } from 'ioredis';
import { Redis as Redis6 } from 'ioredis6';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { disconnectSession, disconnectUser, isUserOnline, socketsOfUser, type SessionRevokedPayload } from '../src/index.js';
import { Cleanup, connect, makeManager, next, startIo, type IoServer } from './support.js';

/*
 * Two Socket.IO nodes in one process, each with its own manager, sharing one
 * real redis-server: the Redis refresh-token store and invalidation
 * broadcaster (revocation), and @socket.io/redis-adapter (the cluster-wide
 * helpers). Nothing is mocked.
 */
// Once per ioredis major the Redis package supports (6 speaks RESP3 by default).
for (const [major, Redis] of [
  ['ioredis 5', Redis5],
  ['ioredis 6', Redis6 as unknown as typeof Redis5],
] as const) {
const S = suite(`cluster over Redis (${major})`);

let redis: RedisServer | undefined;
// Loaded here rather than at the top: a broken sibling package then fails this suite only, not the whole run.
let storage: typeof import('@jwt-session/storage-redis');
S.before(async () => {
  storage = await import('@jwt-session/storage-redis');
  const { startRedis } = await import('@jwt-session/redis-harness');
  redis = await startRedis();
});
S.after(async () => {
  await redis?.stop();
});

interface Node extends IoServer {
  manager: JwtUserSessionManager;
}

async function node(c: Cleanup, prefix: string): Promise<Node> {
  const url = redis!.url;
  const client = new Redis(url);
  const pub = new Redis(url);
  const sub = pub.duplicate();
  for (const r of [client, pub, sub]) {
    r.on('error', () => undefined);
    c.add(() => r.disconnect());
  }
  const broadcaster = new storage.RedisInvalidationBroadcaster(client, { keyPrefix: prefix });
  c.add(() => broadcaster.close());
  const manager = makeManager(c, { refreshTokenStore: new storage.RedisRefreshTokenStore(client, { keyPrefix: prefix }), broadcaster });
  await manager.ready();
  const server = await startIo(c, manager, { server: { adapter: createAdapter(pub, sub, { key: `${prefix}socket.io` }) } });
  return { ...server, manager };
}

function revoked(socket: import('socket.io-client').Socket): Promise<SessionRevokedPayload> {
  const disconnected = next<string>(socket, 'disconnect', 5000);
  return next<SessionRevokedPayload>(socket, 'session:revoked', 5000).then(async (payload) => {
    assert.is(await disconnected, 'io server disconnect');
    return payload;
  });
}

S('revoke on node A (deleteOne, deleteAll, reuse): the socket connected to node B gets session:revoked and is disconnected', async () => {
  const c = new Cleanup();
  try {
    const prefix = `sio-${randomBytes(4).toString('hex')}:`;
    const a = await node(c, prefix);
    const b = await node(c, prefix);

    const one = await a.manager.create('alice');
    const s1 = await connect(c, b.url, { auth: { token: one.accessToken } });
    const r1 = revoked(s1);
    const start = performance.now();
    await a.manager.deleteOne('alice', one.sessionId);
    assert.equal(await r1, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });
    console.log(`\n  Redis: deleteOne on A → socket on B revoked in ${(performance.now() - start).toFixed(1)} ms`);

    const two = await a.manager.create('alice');
    const s2 = await connect(c, b.url, { auth: { token: two.accessToken } });
    const r2 = revoked(s2);
    await a.manager.deleteAll('alice');
    // Over real Redis too, a subject-wide revocation reaches B as `all`, a single one as `deleted` (issue 12).
    assert.equal(await r2, { code: 'ERR_SESSION_REVOKED', reason: 'all' });

    const three = await a.manager.create('bob');
    const s3 = await connect(c, b.url, { auth: { token: three.accessToken } });
    const r3 = revoked(s3);
    await a.manager.update(three.refreshToken);
    await rejectsWith(a.manager.update(three.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    assert.equal(await r3, { code: 'ERR_SESSION_REVOKED', reason: 'reused' });
  } finally {
    await c.run();
  }
});

S('helpers work cluster-wide through @socket.io/redis-adapter: isUserOnline and socketsOfUser on A see a user on B; disconnectSession/disconnectUser from A', async () => {
  const c = new Cleanup();
  try {
    const prefix = `sio-${randomBytes(4).toString('hex')}:`;
    const a = await node(c, prefix);
    const b = await node(c, prefix);
    assert.is(await isUserOnline(a.io, 'carol'), false);
    const t1 = await b.manager.create('carol');
    const t2 = await b.manager.create('carol');
    const s1 = await connect(c, b.url, { auth: { token: t1.accessToken } });
    const s2 = await connect(c, b.url, { auth: { token: t2.accessToken } });
    assert.ok(await isUserOnline(a.io, 'carol'), 'A sees carol, connected to B');
    const remote = await socketsOfUser(a.io, 'carol');
    assert.equal(remote.map((s) => s.data.auth.sessionId).sort(), [t1.sessionId, t2.sessionId].sort());
    assert.is(remote[0]!.data.auth.sub, 'carol');

    const gone1 = next<string>(s1, 'disconnect', 5000);
    disconnectSession(a.io, t1.sessionId);
    assert.is(await gone1, 'io server disconnect');
    assert.ok(s2.connected);
    const gone2 = next<string>(s2, 'disconnect', 5000);
    disconnectUser(a.io, 'carol');
    await gone2;
    assert.is(await isUserOnline(a.io, 'carol'), false);
  } finally {
    await c.run();
  }
});

S.run();
}

import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import { JwtUserSessionManager, SessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { TEST_KEY } from './fixtures/key.js';
import { ioredisMajors, sleep, uniquePrefix, type Ioredis } from './helpers.js';

/*
 * Guards defects #10.5 and #10.6 under the real fault: Redis paused with
 * SIGSTOP while a deleteOne, then a create at the cap, is in flight. The
 * caller gets ERR_STORAGE_UNAVAILABLE after the command timeout; Redis runs
 * the command when it wakes. After recovery, the revoked session's and the
 * evicted session's access tokens must be rejected on both nodes.
 * Each node has its own client, cache and broadcaster subscription.
 */
function node(io: Ioredis, server: RedisServer, prefix: string) {
  const client = new io.Redis(server.port, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const broadcaster = new RedisInvalidationBroadcaster(client, { keyPrefix: prefix, commandTimeout: 500 });
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: TEST_KEY,
    issuer: 'https://issuer.test',
    audience: 'api',
    maxSessionsPerSubject: 1,
    refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix, commandTimeout: 500 }),
    invalidAccessTokenCache: cache,
    broadcaster,
  });
  return {
    manager,
    close: async () => {
      await manager.close();
      await broadcaster.close();
      cache.close();
      client.disconnect();
    },
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error instanceof SessionError ? error.code : String(error)),
  );
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) assert.unreachable(`never happened within ${ms} ms: ${what}`);
    await sleep(50);
  }
  return Date.now() - start;
}

const rejectedOnBoth = (nodes: ReturnType<typeof node>[], token: string) => async () =>
  (await Promise.all(nodes.map((n) => codeOf(n.manager.read(token))))).every((code) => code === 'ERR_SESSION_REVOKED');

for (const io of ioredisMajors) {
  const S = suite<{ server: RedisServer }>(`revocation under a paused Redis (two nodes, ${io.name})`);

  S.before(async (ctx) => {
    ctx.server = await startRedis();
  });
  S.after(async (ctx) => {
    await ctx.server.stop();
  });

  S('deleteOne in flight while Redis is paused: after recovery the session is gone and its tokens are rejected on both nodes', async ({ server }) => {
    const prefix = uniquePrefix('fault');
    const [a, b] = [node(io, server, prefix), node(io, server, prefix)];
    try {
      await Promise.all([a.manager.ready(), b.manager.ready()]);
      const t = await a.manager.create('alice');
      assert.is((await b.manager.read(t.accessToken)).sid, t.sessionId);

      server.pause();
      let code: string;
      try {
        code = await codeOf(a.manager.deleteOne('alice', t.sessionId));
      } finally {
        server.resume();
      }
      assert.is(code, 'ERR_STORAGE_UNAVAILABLE');
      const took = await eventually(rejectedOnBoth([a, b], t.accessToken), 'the deleted session rejected on both nodes');
      console.log(`  deleteOne during a pause: rejected on both nodes ${took} ms after resume`);
      await eventually(async () => (await a.manager.readAll('alice')).length === 0, 'the late delete ran');
      // A retry now finds nothing, and still leaves the tokens rejected.
      assert.is(await b.manager.deleteOne('alice', t.sessionId), false);
      assert.is(await codeOf(b.manager.read(t.accessToken)), 'ERR_SESSION_REVOKED');
    } finally {
      await a.close();
      await b.close();
    }
  });

  S('create at the cap in flight while Redis is paused: after recovery the evicted session’s tokens are rejected on both nodes', async ({ server }) => {
    const prefix = uniquePrefix('fault');
    const [a, b] = [node(io, server, prefix), node(io, server, prefix)];
    try {
      await Promise.all([a.manager.ready(), b.manager.ready()]);
      const old = await a.manager.create('carol');
      assert.is((await b.manager.read(old.accessToken)).sid, old.sessionId);

      server.pause();
      let code: string;
      try {
        code = await codeOf(a.manager.create('carol'));
      } finally {
        server.resume();
      }
      assert.is(code, 'ERR_STORAGE_UNAVAILABLE');
      const took = await eventually(rejectedOnBoth([a, b], old.accessToken), 'the evicted session rejected on both nodes');
      console.log(`  create at the cap during a pause: evicted session rejected on both nodes ${took} ms after resume`);
      // The session the late insert created is removed too: nobody ever received its tokens.
      await eventually(async () => (await b.manager.readAll('carol')).length === 0, 'the unacknowledged session removed');
      // And the subject can sign in again normally.
      const fresh = await b.manager.create('carol');
      assert.is((await a.manager.read(fresh.accessToken)).sid, fresh.sessionId);
    } finally {
      await a.close();
      await b.close();
    }
  });

  S.run();
}

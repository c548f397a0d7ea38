// The session lifecycle as an application runs it, on whatever runtime runs
// this bundle (Bun, Deno): memory storage, then two managers on one Redis.
import { JwtUserSessionManager, type JwtUserSessionManagerOptions } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { Redis } from 'ioredis';
import { AUDIENCE, check, codeOf, expect, ISSUER, SECRET } from './report.js';

const base = { keys: { kid: 'k1', algorithm: 'HS256' as const, secret: SECRET }, issuer: ISSUER, audience: AUDIENCE };

await check('lifecycle on memory: create, read, rotate, reuse detected, session revoked', async () => {
  const store = new MemoryRefreshTokenStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({ ...base, refreshTokenStore: store, invalidAccessTokenCache: cache });
  try {
    const first = await manager.create('alice', { claims: { role: 'admin' } });
    expect((await manager.read(first.accessToken)).sub === 'alice', 'read');
    const second = await manager.update(first.refreshToken);
    expect(second.sessionId === first.sessionId && second.refreshToken !== first.refreshToken, 'rotation');
    expect((await codeOf(manager.update(first.refreshToken))) === 'ERR_REFRESH_TOKEN_REUSED', 'reuse detected');
    expect((await codeOf(manager.read(second.accessToken))) === 'ERR_SESSION_REVOKED', 'the session is revoked after reuse');
  } finally {
    await manager.close();
    await store.close();
    cache.close();
  }
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl !== undefined) {
  await check('lifecycle on Redis: two managers, a revocation on one refused on the other', async () => {
    const clients = [new Redis(redisUrl), new Redis(redisUrl)];
    const node = (redis: Redis): JwtUserSessionManager => {
      const options: JwtUserSessionManagerOptions = {
        ...base,
        refreshTokenStore: new RedisRefreshTokenStore(redis),
        invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
        broadcaster: new RedisInvalidationBroadcaster(redis),
      };
      return new JwtUserSessionManager(options);
    };
    const [a, b] = clients.map(node) as [JwtUserSessionManager, JwtUserSessionManager];
    try {
      await Promise.all([a.ready(), b.ready()]);
      const tokens = await a.create('bob');
      expect((await b.read(tokens.accessToken)).sub === 'bob', 'B reads what A issued');
      const next = await b.update(tokens.refreshToken);
      await a.deleteOne('bob', next.sessionId);
      const deadline = Date.now() + 5000;
      let code = await codeOf(b.read(next.accessToken));
      while (code !== 'ERR_SESSION_REVOKED' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        code = await codeOf(b.read(next.accessToken));
      }
      expect(code === 'ERR_SESSION_REVOKED', `B after A revoked: ${code}`);
    } finally {
      await a.close();
      await b.close();
      for (const redis of clients) redis.disconnect();
    }
  });
}

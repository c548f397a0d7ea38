import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { testInvalidationBroadcaster, testManagerOverStorage, testRefreshTokenStore, testUpstreamRevocation, testUpstreamStore } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { clusterClient, ioredisMajors, keysUnder, standaloneClient, assertTornDown, teardown, uniquePrefix } from './helpers.js';

// session-core's conformance suites, against a real standalone Redis and a
// real 3-master Redis Cluster. Each fixture gets its own key prefix, and the
// footprint is every key under it, so "nothing left behind" is checked on the
// server itself. Once per ioredis major.
for (const io of ioredisMajors) for (const [kind, connect] of [
  ['redis standalone', standaloneClient],
  ['redis cluster', clusterClient],
] as const) {
  const name = `${kind}, ${io.name}`;
  testRefreshTokenStore(name, async () => {
    const client = await connect(io);
    const keyPrefix = uniquePrefix('conf');
    const store = new RedisRefreshTokenStore(client, { keyPrefix });
    return { store, footprint: async () => (await keysUnder(client, keyPrefix)).length, close: () => store.close() };
  });
  // The upstream index sets live on slots of their own: the footprint (every key under the prefix, on every master) counts them too.
  testUpstreamStore(name, async () => {
    const client = await connect(io);
    const keyPrefix = uniquePrefix('up');
    const store = new RedisRefreshTokenStore(client, { keyPrefix });
    return { store, footprint: async () => (await keysUnder(client, keyPrefix)).length, close: () => store.close() };
  });
  testUpstreamRevocation(name, async () => {
    const client = await connect(io);
    const refreshTokenStore = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('upm') });
    const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
    return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
  });
  testManagerOverStorage(name, async () => {
    const client = await connect(io);
    const refreshTokenStore = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('mgr') });
    const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
    return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
  });
  testInvalidationBroadcaster(name, async () => {
    const broadcaster = new RedisInvalidationBroadcaster(await connect(io), { keyPrefix: uniquePrefix('bcast') });
    return { broadcaster, close: () => broadcaster.close() };
  }, { revocationLog: true });
}

const end = suite('conformance teardown');
end.after(teardown);
// Guards against leaked clients and servers: the teardown must actually stop what this file started.
end('teardown closes every client and stops every Redis server (their ports refuse connections)', assertTornDown);
end.run();

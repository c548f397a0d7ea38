import { testDpopReplayCache, testInvalidAccessTokenCache, testInvalidationBroadcaster, testManagerOverStorage, testRefreshTokenStore, testUpstreamRevocation, testUpstreamStore } from '@jwt-session/session-core/testing';
import { MemoryBroadcaster, MemoryDpopReplayCache, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '../src/index.js';

testRefreshTokenStore('MemoryRefreshTokenStore', async () => {
  const store = new MemoryRefreshTokenStore();
  return { store, footprint: async () => store.size + store.subjectCount, close: () => store.close() };
});

testUpstreamStore('MemoryRefreshTokenStore', async () => {
  const store = new MemoryRefreshTokenStore();
  // The upstream index counts too: nothing of a linked session may outlive it.
  return { store, footprint: async () => store.size + store.subjectCount + store.upstreamCount, close: () => store.close() };
});

testUpstreamRevocation('memory storage', async () => {
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
  return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
});

testInvalidAccessTokenCache('MemoryInvalidAccessTokenCache', async () => {
  const cache = new MemoryInvalidAccessTokenCache();
  return { cache, close: async () => cache.close() };
});

testManagerOverStorage('memory storage', async () => {
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
  return {
    refreshTokenStore,
    invalidAccessTokenCache,
    close: async () => {
      await refreshTokenStore.close();
      invalidAccessTokenCache.close();
    },
  };
});

testInvalidationBroadcaster('MemoryBroadcaster', async () => ({ broadcaster: new MemoryBroadcaster(), close: async () => undefined }), { revocationLog: true });

testDpopReplayCache('MemoryDpopReplayCache', async () => {
  const cache = new MemoryDpopReplayCache();
  return { cache, close: async () => cache.close() };
});

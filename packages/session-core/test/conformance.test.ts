import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { testInvalidAccessTokenCache, testManagerOverStorage, testRefreshTokenStore } from '../src/testing/index.js';

// The suites this package ships, run here against the reference storage so
// they are themselves exercised (and counted) where they live.
testRefreshTokenStore('memory (from session-core)', async () => {
  const store = new MemoryRefreshTokenStore();
  return { store, footprint: async () => store.size + store.subjectCount, close: () => store.close() };
});
testInvalidAccessTokenCache('memory (from session-core)', async () => {
  const cache = new MemoryInvalidAccessTokenCache();
  return { cache, close: async () => cache.close() };
});
testManagerOverStorage('memory (from session-core)', async () => {
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const invalidAccessTokenCache = new MemoryInvalidAccessTokenCache();
  return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
});

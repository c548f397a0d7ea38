import { ReferenceBroadcaster, ReferenceDpopReplayCache, ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';
import { testDpopReplayCache, testInvalidAccessTokenCache, testInvalidationBroadcaster, testManagerOverStorage, testRefreshTokenStore, testUpstreamRevocation, testUpstreamStore } from '../src/testing/index.js';

// The suites this package ships, run here against the reference storage
// (reference-storage.ts) so they are themselves exercised (and counted by the
// coverage gate) where they live; storage-memory and storage-redis run them too.
testRefreshTokenStore('reference storage (session-core)', async () => {
  const store = new ReferenceRefreshTokenStore();
  return { store, footprint: async () => store.size + store.subjectCount, close: () => store.close() };
});
// No footprint: the reference store drops an expired session when it is next touched, not on its own.
testUpstreamStore('reference storage (session-core)', async () => {
  const store = new ReferenceRefreshTokenStore();
  return { store, close: () => store.close() };
});
testUpstreamRevocation('reference storage (session-core)', async () => {
  const refreshTokenStore = new ReferenceRefreshTokenStore();
  const invalidAccessTokenCache = new ReferenceInvalidAccessTokenCache();
  return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
});
testInvalidAccessTokenCache('reference storage (session-core)', async () => {
  const cache = new ReferenceInvalidAccessTokenCache();
  return { cache, close: async () => cache.close() };
});
testManagerOverStorage('reference storage (session-core)', async () => {
  const refreshTokenStore = new ReferenceRefreshTokenStore();
  const invalidAccessTokenCache = new ReferenceInvalidAccessTokenCache();
  return { refreshTokenStore, invalidAccessTokenCache, close: async () => (await refreshTokenStore.close(), invalidAccessTokenCache.close()) };
});
testInvalidationBroadcaster('reference storage (session-core)', async () => ({ broadcaster: new ReferenceBroadcaster(), close: async () => undefined }));
testDpopReplayCache('reference storage (session-core)', async () => {
  const cache = new ReferenceDpopReplayCache();
  return { cache, peer: cache.peer(), close: async () => undefined };
});

export { MemoryRefreshTokenStore, type MemoryRefreshTokenStoreOptions } from './refresh-token-store.js';
export { MemoryInvalidAccessTokenCache } from './invalid-access-token-cache.js';
export { MemoryBroadcaster } from './broadcaster.js';
export { MemoryDpopReplayCache, type MemoryDpopReplayCacheOptions } from './dpop-replay-cache.js';

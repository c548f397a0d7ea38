export { RedisRefreshTokenStore, type RedisRefreshTokenStoreOptions } from './refresh-token-store.js';
export { RedisInvalidationBroadcaster, type RedisInvalidationBroadcasterOptions } from './broadcaster.js';
export { DEFAULT_KEY_PREFIX, type KeyKind, type KeyLayout } from './keys.js';
export { SUMMARY as SESSIONS_SUMMARY_SCRIPT } from './scripts.js';
export type { RedisClient } from './util.js';
export { RedisDpopReplayCache, type RedisDpopReplayCacheOptions } from './dpop-replay-cache.js';

/**
 * Conformance suites for storage implementations, run with uvu:
 *
 * ```ts
 * import { testRefreshTokenStore } from '@jwt-session/session-core/testing';
 * testRefreshTokenStore('my store', async () => ({ store: new MyStore(), close: async () => {} }));
 * ```
 */
export { testRefreshTokenStore, type StoreFactory, type StoreFixture } from './store-suite.js';
export { testUpstreamStore } from './upstream-suite.js';
export { testUpstreamRevocation } from './upstream-manager-suite.js';
export { testInvalidAccessTokenCache, type CacheFixture } from './cache-suite.js';
export { testInvalidationBroadcaster, type BroadcasterFixture } from './broadcaster-suite.js';
export { testManagerOverStorage, rejectsWith, TEST_SECRET, type StorageFixture } from './manager-suite.js';
export { hostileValues, probe } from './hostile.js';
export { T0, HOUR, fakeHash, newRecord, sleep } from './fixtures.js';
export { testDpopReplayCache, type ReplayCacheFixture } from './replay-suite.js';

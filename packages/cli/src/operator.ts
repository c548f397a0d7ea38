import { randomBytes } from 'node:crypto';
import { JwtUserSessionManager, type InvalidationBroadcaster, type RefreshTokenStore } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';

/** A manager used as the operator's hands, and how to let go of it. */
export interface OperatorManager {
  manager: JwtUserSessionManager;
  close(): Promise<void>;
}

/**
 * A `JwtUserSessionManager` over the application's store and broadcaster:
 * `readAll`, `deleteOne` and `deleteAll` run exactly as in the application
 * (same store operations, same event format, same broadcast), on any
 * storage. Its signing key is random and thrown away: it never issues a
 * token. `close()` closes the manager, the broadcaster and its cache; the
 * connection stays the caller's.
 */
export function operatorManager(store: RefreshTokenStore, broadcaster: InvalidationBroadcaster & { close(): Promise<void> }, accessTokenTtl: number): OperatorManager {
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'jwt-session-cli', algorithm: 'HS256', secret: randomBytes(32) },
    issuer: 'jwt-session-cli',
    audience: 'jwt-session-cli',
    accessTokenTtl,
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    broadcaster,
  });
  return {
    manager,
    async close() {
      await manager.close();
      await broadcaster.close();
      cache.close();
    },
  };
}

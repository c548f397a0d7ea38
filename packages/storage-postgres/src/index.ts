export { PostgresRefreshTokenStore, type PostgresRefreshTokenStoreOptions } from './refresh-token-store.js';
export { PostgresInvalidationBroadcaster, type PostgresInvalidationBroadcasterOptions } from './broadcaster.js';
export { migrate, migrationSql, DEFAULT_SCHEMA, type MigrateOptions, type MigrateResult, type MigrationTarget } from './schema.js';
export { schemaStats, schemaVersion, type SchemaStats, type SchemaStatsOptions } from './stats.js';
export { PostgresQueryFailure, type Queryable } from './bounded.js';
export type { ListenClient } from './listener.js';

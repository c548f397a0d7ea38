export { startPostgres, type PostgresServer, type StartPostgresOptions } from './server.js';
export { startPgBouncer, type PgBouncer, type StartPgBouncerOptions } from './bouncer.js';
export { pgbouncerBin, serverBinDir } from './binaries.js';
export { stopAll } from '@jwt-session/redis-harness';

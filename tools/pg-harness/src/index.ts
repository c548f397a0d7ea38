export { startPostgres, type PostgresServer, type StartPostgresOptions } from './server.js';
export { serverBinDir } from './binaries.js';
export { stopAll } from '@jwt-session/redis-harness';

export { startRedis, type RedisServer, type StartRedisOptions } from './server.js';
export { startCluster, type RedisCluster, type StartClusterOptions } from './cluster.js';
export { freePort } from './ports.js';
export { command, ReplyError, type Reply } from './resp.js';
export { stopAll, trackPid, untrackPid, trackDir, removeDir } from './cleanup.js';

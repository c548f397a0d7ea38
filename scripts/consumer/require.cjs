// CommonJS consumer: require() of each package's ESM build (Node >= 20.19 loads
// ESM through require() when the graph has no top-level await).
const checks = [
  ['@jwt-session/session-core', 'JwtUserSessionManager'],
  ['@jwt-session/storage-memory', 'MemoryRefreshTokenStore'],
  ['@jwt-session/storage-redis', 'RedisRefreshTokenStore'],
  ['@jwt-session/socketio-adapter', 'attachSessionGuard'],
  ['@jwt-session/socketio-adapter/fastify', 'fastifySessionAuth'],
];
let failed = 0;
for (const [name, expected] of checks) {
  try {
    const loaded = require(name);
    if (loaded[expected] === undefined) throw new Error(`${expected} is not exported`);
    console.log(`ok - require('${name}').${expected}`);
  } catch (error) {
    failed++;
    console.log(`not ok - require('${name}'): ${error.code ?? ''} ${error.message.split('\n')[0]}`);
  }
}
process.exit(failed > 0 ? 1 : 0);

// TypeScript consumer outside the workspace: type-checked by
// scripts/consumer-check.mjs with `tsc --noEmit` under strict,
// exactOptionalPropertyTypes and skipLibCheck: false, against the .d.ts files
// the packed tarballs ship. It touches each package's main API, including the
// adapter's Fastify entry; it is compiled, not run.
import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import {
  JwtUserSessionManager,
  SESSION_INVALIDATED,
  SessionError,
  isSessionError,
  type AccessTokenClaims,
  type JwtUserSessionManagerOptions,
  type SessionErrorCode,
  type SessionTokens,
} from '@jwt-session/session-core';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate } from '@jwt-session/storage-postgres';
import pg from 'pg';
import { attachSessionGuard, httpAuth, toAuthError, type AuthContext, type AuthSocketData } from '@jwt-session/socketio-adapter';
import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
import { sessionRouter, type SessionBody } from '@jwt-session/http';
import { sessionRoutes } from '@jwt-session/http/fastify';

const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const options: JwtUserSessionManagerOptions = {
  keys: { kid: 'k1', algorithm: 'HS256', secret: 'consumer-check-secret-0123456789abcdef' },
  issuer: 'https://auth.example.com',
  audience: 'api',
  refreshTokenStore: new RedisRefreshTokenStore(redis),
  invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  broadcaster: new RedisInvalidationBroadcaster(redis),
};
const manager = new JwtUserSessionManager(options);
const local = new JwtUserSessionManager({ ...options, refreshTokenStore: new MemoryRefreshTokenStore(), broadcaster: new MemoryBroadcaster() });

export async function lifecycle(): Promise<string> {
  const tokens: SessionTokens = await local.create('alice', { claims: { role: 'admin' }, context: { ip: '203.0.113.7' } });
  const claims: AccessTokenClaims = await local.read(tokens.accessToken);
  const next = await local.update(tokens.refreshToken);
  local.on(SESSION_INVALIDATED, (event) => console.log(event.sessionId, event.reason));
  try {
    await manager.read(next.accessToken);
  } catch (error) {
    if (isSessionError(error, 'ERR_SESSION_REVOKED')) return error.code;
    const code: SessionErrorCode | undefined = error instanceof SessionError ? error.code : undefined;
    return code ?? toAuthError(error).code;
  }
  return claims.sub;
}

const app = express();
app.get('/me', httpAuth(manager), (req, res) => {
  const auth = (req as express.Request & { auth?: AuthContext }).auth;
  res.json({ user: auth?.userId });
});

const router = sessionRouter(local, { basePath: '/auth' });
app.use(router);
app.post('/signin', async (req, res) => {
  const body: SessionBody | undefined = await router.issueSession(req, res, 'alice', { claims: { role: 'user' } });
  if (body) console.log(body.sessionId, body.expiresIn);
});

const http = createServer(app);
const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, AuthSocketData>(http);
const guard = attachSessionGuard(io, manager);
io.on('connection', (socket) => socket.join(`user:${socket.data.auth.userId}`));

const fastify = Fastify();
await fastify.register(fastifySessionAuth, { manager, global: false });
await fastify.register(sessionRoutes, { manager: local, basePath: '/auth' });
fastify.get('/me', { onRequest: fastify.sessionAuth }, async (request) => ({ user: request.auth?.userId ?? null }));

// PostgreSQL: the caller's pg.Pool for queries, a dedicated pg.Client for LISTEN.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
pool.on('error', () => undefined);
await migrate(pool);
const onPostgres = new JwtUserSessionManager({
  keys: { kid: 'k1', algorithm: 'HS256', secret: 'consumer-check-secret-0123456789abcdef' },
  issuer: 'https://auth.example.com',
  audience: 'api',
  refreshTokenStore: new PostgresRefreshTokenStore(pool),
  invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  broadcaster: new PostgresInvalidationBroadcaster(pool, { listenClient: () => new pg.Client(process.env.DATABASE_URL) }),
});
await onPostgres.ready();

export async function shutdown(): Promise<void> {
  await onPostgres.close();
  await pool.end();
  guard.close();
  await fastify.close();
  await manager.close();
  await local.close();
  redis.disconnect();
}

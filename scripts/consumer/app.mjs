// Runs inside a throwaway app OUTSIDE the workspace, against the packed
// tarballs installed with plain npm (scripts/consumer-check.mjs sets it up).
// Plain JavaScript on purpose: what a user who does not use TypeScript runs.
// Prints one "ok - …" / "not ok - …" line per check.
import { cpSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { JwtUserSessionManager, isSessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate } from '@jwt-session/storage-postgres';
import pg from 'pg';
import { attachSessionGuard, httpAuth } from '@jwt-session/socketio-adapter';

const require = createRequire(import.meta.url);
const STEP_TIMEOUT_MS = 20_000;
let failed = 0;
const cleanups = [];

async function check(name, fn) {
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS))),
    ]);
    console.log(`ok - ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}: ${error?.code ? `${error.code} ` : ''}${error?.message ?? error}`);
  } finally {
    clearTimeout(timer);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function rejectsWith(promise, code) {
  try {
    await promise;
  } catch (error) {
    expect(isSessionError(error, code), `expected ${code}, got ${error?.code ?? error}`);
    return;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** Polls until `fn` stops throwing, for things that travel between processes (a revocation through Redis). */
async function eventually(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

const options = (storage) => ({
  keys: { kid: 'k1', algorithm: 'HS256', secret: 'consumer-check-secret-0123456789abcdef' },
  issuer: 'https://auth.example.com',
  audience: 'api',
  ...storage,
});
const memory = () => ({ refreshTokenStore: new MemoryRefreshTokenStore(), invalidAccessTokenCache: new MemoryInvalidAccessTokenCache() });

console.log(`# node ${process.version}, ioredis ${require('ioredis/package.json').version}`);
// Issue 9 item 4: uvu was a required peer (for ./testing only), so npm put it into every app.
await check('uvu, an optional peer needed only by session-core/testing, is not installed into the app', async () => {
  let resolved;
  try {
    resolved = require.resolve('uvu');
  } catch {
    return;
  }
  throw new Error(`uvu was installed at ${resolved}`);
});

const manager = new JwtUserSessionManager(options(memory()));
cleanups.push(() => manager.close());

await check('session lifecycle: create → read → update → reuse detection (ERR_REFRESH_TOKEN_REUSED)', async () => {
  const first = await manager.create('alice', { claims: { role: 'admin' }, context: { ip: '203.0.113.7' } });
  const claims = await manager.read(first.accessToken);
  expect(claims.sub === 'alice' && claims.sid === first.sessionId, 'read() returned other claims');
  const next = await manager.update(first.refreshToken);
  expect(next.sessionId === first.sessionId && next.refreshToken !== first.refreshToken, 'update() did not rotate');
  await manager.read(next.accessToken);
  await rejectsWith(manager.update(first.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  await rejectsWith(manager.read(next.accessToken), 'ERR_SESSION_REVOKED');
});

await check('Express httpAuth over real HTTP: 200 with a live token, 401 without one and after revocation', async () => {
  const app = express();
  app.get('/me', httpAuth(manager), (req, res) => res.json({ sub: req.auth.sub }));
  const server = createServer(app);
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const url = `${await listen(server)}/me`;
  const t = await manager.create('bob');
  const ok = await fetch(url, { headers: { authorization: `Bearer ${t.accessToken}` } });
  expect(ok.status === 200 && (await ok.json()).sub === 'bob', `live token: ${ok.status}`);
  const none = await fetch(url);
  expect(none.status === 401 && (await none.json()).error === 'ERR_AUTH_TOKEN_REQUIRED', `no token: ${none.status}`);
  await manager.deleteOne('bob', t.sessionId);
  const revoked = await fetch(url, { headers: { authorization: `Bearer ${t.accessToken}` } });
  expect(revoked.status === 401 && (await revoked.json()).error === 'ERR_SESSION_REVOKED', `revoked token: ${revoked.status}`);
});

await check('Socket.IO attachSessionGuard: a real client connects, is told session:revoked and disconnected on revocation', async () => {
  const http = createServer();
  const io = new Server(http);
  const guard = attachSessionGuard(io, manager);
  cleanups.push(() => (guard.close(), io.close()));
  const url = await listen(http);
  const refused = connectClient(url, { transports: ['websocket'], reconnection: false });
  const error = await new Promise((resolve) => refused.once('connect_error', resolve));
  refused.close();
  expect(error.data?.code === 'ERR_AUTH_TOKEN_REQUIRED', `no token: ${error.message}`);
  const t = await manager.create('carol');
  const socket = connectClient(url, { transports: ['websocket'], reconnection: false, auth: { token: t.accessToken } });
  cleanups.push(() => socket.close());
  await new Promise((resolve, reject) => (socket.once('connect', resolve), socket.once('connect_error', reject)));
  const revoked = new Promise((resolve) => socket.once('session:revoked', resolve));
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  await manager.deleteOne('carol', t.sessionId);
  const payload = await revoked;
  expect(payload.code === 'ERR_SESSION_REVOKED' && payload.reason === 'deleted', `payload ${JSON.stringify(payload)}`);
  expect((await gone) === 'io server disconnect', 'not disconnected by the server');
});

await check('two copies of session-core: errors are still mapped by code (401 ERR_SESSION_REVOKED, not 500)', async () => {
  // npm installs a second copy when versions differ; copy the installed one to another path.
  const copy = join(process.cwd(), 'second-copy', 'node_modules', '@jwt-session', 'session-core');
  cpSync(join(process.cwd(), 'node_modules', '@jwt-session', 'session-core'), copy, { recursive: true });
  const other = await import(pathToFileURL(join(copy, 'dist', 'index.js')).href);
  expect(other.JwtUserSessionManager !== JwtUserSessionManager, 'the copy is the same module');
  const otherManager = new other.JwtUserSessionManager(options(memory()));
  cleanups.push(() => otherManager.close());
  const t = await otherManager.create('dave');
  await otherManager.deleteOne('dave', t.sessionId);
  const error = await otherManager.read(t.accessToken).catch((e) => e);
  expect(isSessionError(error, 'ERR_SESSION_REVOKED'), 'isSessionError does not recognise the other copy');
  const app = express();
  app.get('/me', httpAuth(otherManager), (req, res) => res.json({ sub: req.auth.sub }));
  const server = createServer(app);
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const answer = await fetch(`${await listen(server)}/me`, { headers: { authorization: `Bearer ${t.accessToken}` } });
  const body = await answer.json();
  expect(answer.status === 401 && body.error === 'ERR_SESSION_REVOKED', `got ${answer.status} ${body.error}`);
});

const redisNodes = [];
let revoked;
function redisNode() {
  const client = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 2 });
  client.on('error', () => undefined);
  const broadcaster = new RedisInvalidationBroadcaster(client);
  const m = new JwtUserSessionManager(options({ refreshTokenStore: new RedisRefreshTokenStore(client), invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(), broadcaster }));
  cleanups.push(async () => (await m.close(), await broadcaster.close(), client.disconnect()));
  redisNodes.push(m);
  return m;
}

await check('Redis: a revocation on node A is enforced on node B', async () => {
  expect(process.env.REDIS_URL, 'REDIS_URL is not set');
  const a = redisNode();
  const b = redisNode();
  await Promise.all([a.ready(), b.ready()]);
  const t = await a.create('erin');
  expect((await b.read(t.accessToken)).sub === 'erin', 'B cannot read A’s token');
  const next = await b.update(t.refreshToken);
  await a.deleteOne('erin', next.sessionId);
  revoked = next.accessToken;
  await eventually(() => rejectsWith(b.read(next.accessToken), 'ERR_SESSION_REVOKED'));
});

await check('Redis: a node C started after the revocation enforces it once ready()', async () => {
  expect(revoked, 'no revocation was made (previous check failed)');
  const c = redisNode();
  await c.ready();
  await rejectsWith(c.read(revoked), 'ERR_SESSION_REVOKED');
});

// PostgreSQL: the same cluster guarantee on `pg` from npm, two nodes sharing one database.
async function postgresNode() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  pool.on('error', () => undefined);
  await migrate(pool);
  const broadcaster = new PostgresInvalidationBroadcaster(pool, { listenClient: () => new pg.Client(process.env.DATABASE_URL) });
  // No reuse interval: a spent token presented again is reuse at once.
  const m = new JwtUserSessionManager(options({ refreshTokenStore: new PostgresRefreshTokenStore(pool), invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(), broadcaster, refreshTokenReuseInterval: 0 }));
  cleanups.push(async () => (await m.close(), await broadcaster.close?.(), await pool.end()));
  return m;
}

await check('PostgreSQL: rotation, reuse detection, and a revocation on node A enforced on node B', async () => {
  expect(process.env.DATABASE_URL, 'DATABASE_URL is not set');
  const a = await postgresNode();
  const b = await postgresNode();
  await Promise.all([a.ready(), b.ready()]);
  const t = await a.create('frank');
  const next = await b.update(t.refreshToken);
  expect((await a.read(next.accessToken)).sid === t.sessionId, 'the rotation on B is not the same session on A');
  // The spent token presented on A: reuse, the session revoked on every node.
  await rejectsWith(a.update(t.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  await eventually(() => rejectsWith(b.read(next.accessToken), 'ERR_SESSION_REVOKED'));
  const fresh = await a.create('frank');
  expect((await b.read(fresh.accessToken)).sub === 'frank', 'B cannot read A’s token');
  await a.deleteOne('frank', fresh.sessionId);
  await eventually(() => rejectsWith(b.read(fresh.accessToken), 'ERR_SESSION_REVOKED'));
});

// Each clean-up gets a few seconds: after a failed check, one may never settle.
for (const cleanup of cleanups.reverse()) {
  await Promise.race([Promise.resolve().then(cleanup).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
}
console.log(`# ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

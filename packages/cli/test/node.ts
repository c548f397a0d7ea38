import { startCluster, startRedis, type RedisCluster, type RedisServer } from '@jwt-session/redis-harness';
import { JwtUserSessionManager, type InvalidationBroadcaster, type RefreshTokenStore } from '@jwt-session/session-core';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { Cluster, Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';

/*
 * An application node as the CLI meets it in production: a manager on the
 * Redis store and broadcaster, a Socket.IO server guarded by
 * attachSessionGuard, on a real port. Everything it opens is closed by
 * `closeAll()`.
 */

export const APP_KEY = { kid: 'app-1', algorithm: 'HS256' as const, secret: 'cli-tests-application-secret-0123456789' };
const closers: (() => Promise<void> | void)[] = [];

export function later(close: () => Promise<void> | void): void {
  closers.push(close);
}

export async function closeAll(): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      // keep closing the rest
    }
  }
}

export interface Backend {
  kind: 'standalone' | 'cluster';
  /** What the CLI gets: `--redis <url>` plus `--cluster` for a cluster. */
  flags: string[];
  client: Redis | Cluster;
  /** Every master, for INFO and SCAN checks. */
  masters(): Redis[];
}

export async function backend(kind: 'standalone' | 'cluster'): Promise<Backend> {
  if (kind === 'standalone') {
    const server: RedisServer = await startRedis();
    later(() => server.stop());
    const client = new Redis({ host: server.host, port: server.port });
    client.on('error', () => undefined);
    later(() => client.disconnect());
    return { kind, flags: ['--redis', server.url], client, masters: () => [client] };
  }
  const cluster: RedisCluster = await startCluster({ masters: 3 });
  later(() => cluster.stop());
  const client = new Cluster(cluster.startupNodes);
  client.on('error', () => undefined);
  later(() => client.disconnect());
  await client.ping();
  const first = cluster.startupNodes[1]!;
  return { kind, flags: ['--redis', `redis://${first.host}:${first.port}`, '--cluster'], client, masters: () => client.nodes('master') };
}

export function uniquePrefix(): string {
  return `cli-${randomBytes(5).toString('hex')}:`;
}

export interface AppNode {
  manager: JwtUserSessionManager;
  url: string;
}

export interface AppNodeOptions {
  io?: boolean;
  maxSessionsPerSubject?: number;
}

/** A manager on Redis (keyPrefix `prefix`), ready, with a guarded Socket.IO server when `io` is set. */
export function appNode(client: Redis | Cluster, prefix: string, options: AppNodeOptions = {}): Promise<AppNode> {
  return appNodeOn(new RedisRefreshTokenStore(client, { keyPrefix: prefix }), new RedisInvalidationBroadcaster(client, { keyPrefix: prefix }), options);
}

/** A manager on the given store and broadcaster (any storage), ready, with a guarded Socket.IO server when `io` is set. */
export async function appNodeOn(store: RefreshTokenStore, broadcaster: InvalidationBroadcaster & { close(): Promise<void> }, options: AppNodeOptions = {}): Promise<AppNode> {
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: APP_KEY,
    issuer: 'https://auth.test',
    audience: 'api',
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    broadcaster,
    ...(options.maxSessionsPerSubject === undefined ? {} : { maxSessionsPerSubject: options.maxSessionsPerSubject }),
  });
  later(async () => {
    await manager.close();
    await broadcaster.close();
    cache.close();
  });
  await manager.ready();
  if (!options.io) return { manager, url: '' };
  const http: HttpServer = createServer();
  const raw = new Set<Socket>();
  http.on('connection', (s) => {
    raw.add(s);
    s.once('close', () => raw.delete(s));
  });
  const io = new Server(http, { pingInterval: 1000, pingTimeout: 1000 });
  const guard = attachSessionGuard(io, manager);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  later(async () => {
    guard.close();
    io.disconnectSockets(true);
    const closed = new Promise<void>((resolve) => io.close(() => resolve()));
    for (const s of raw) s.destroy();
    await closed;
  });
  return { manager, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

/** A connected Socket.IO client presenting `token`. */
export async function connectSocket(url: string, token: string): Promise<ClientSocket> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
  later(() => {
    socket.disconnect();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Resolves with the first `event` (or rejects after `ms`: generous, the machine is shared). */
export function next<T = unknown>(socket: ClientSocket, event: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

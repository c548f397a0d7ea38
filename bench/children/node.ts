/**
 * Cases 7 and 13c: one "node" of a two-node deployment — a manager on the
 * shared storage: Redis (store + RedisInvalidationBroadcaster, case 7) or
 * PostgreSQL (store + PostgresInvalidationBroadcaster, LISTEN/NOTIFY, case
 * 13c). Role "a" creates and deletes sessions; role "b" holds a verified
 * (cached) token (and, on Redis, a guarded Socket.IO server), and reports
 * the moment its read() starts rejecting the token.
 * Times are `performance.timeOrigin + performance.now()` (ms); the parent
 * estimates each process's clock offset from `clock` round trips.
 * argv: JSON { role: 'a' | 'b', redisUrl: string } or { role: 'a' | 'b', databaseUrl: string, schema: string }
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server } from 'socket.io';
import { JwtUserSessionManager, SESSION_INVALIDATED, isSessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore } from '@jwt-session/storage-postgres';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { childMain, send } from '../lib/child-side.js';
import { managerOptions, keySet } from '../lib/fixtures.js';

const args = JSON.parse(process.argv[2]!) as { role: 'a' | 'b'; redisUrl?: string; databaseUrl?: string; schema?: string };
const { role } = args;
const now = () => performance.timeOrigin + performance.now();

/** The raw floor under the propagation case: one write on A, its arrival on a connection of B's, no library code. */
interface RawChannel {
  add(n: number): Promise<void>;
  /** Resolves with whether something arrived (within 5 s). Armed before it resolves: what A adds after the call is seen. */
  watch(): Promise<boolean>;
}

/** Redis: XADD on A's connection → XREAD BLOCK on B's own connection. */
function redisParts(url: string) {
  const client = new Redis(url);
  client.on('error', () => undefined);
  const RAW_STREAM = 'bench:raw-propagation';
  const rawReader = role === 'b' ? client.duplicate() : undefined;
  rawReader?.on('error', () => undefined);
  let rawLastId = '0-0';
  const raw: RawChannel = {
    add: async (n) => void (await client.xadd(RAW_STREAM, 'MAXLEN', '~', '1000', '*', 'n', String(n))),
    watch: async () => {
      const reply = (await rawReader!.xread('BLOCK', 5000, 'STREAMS', RAW_STREAM, rawLastId)) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length > 0) rawLastId = entries[entries.length - 1]![0];
      return entries.length > 0;
    },
  };
  return { store: new RedisRefreshTokenStore(client), broadcaster: new RedisInvalidationBroadcaster(client), raw, ready: async () => undefined };
}

/** PostgreSQL: pg_notify() through A's pool → the notification on a LISTEN connection of B's. */
function postgresParts(url: string, schema: string) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const RAW_CHANNEL = 'bench_raw_propagation';
  const listener = role === 'b' ? new pg.Client(url) : undefined;
  listener?.on('error', () => undefined);
  let waiting: ((ok: boolean) => void) | undefined;
  listener?.on('notification', () => {
    waiting?.(true);
    waiting = undefined;
  });
  const raw: RawChannel = {
    add: async (n) => void (await pool.query('SELECT pg_notify($1, $2)', [RAW_CHANNEL, String(n)])),
    watch: () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000);
        waiting = (ok) => {
          clearTimeout(timer);
          resolve(ok);
        };
      }),
  };
  return {
    store: new PostgresRefreshTokenStore(pool, { schema }),
    broadcaster: new PostgresInvalidationBroadcaster(pool, { schema, listenClient: () => new pg.Client(url) }),
    raw,
    ready: async () => {
      if (listener === undefined) return;
      await listener.connect();
      await listener.query(`LISTEN ${RAW_CHANNEL}`);
    },
  };
}

childMain(async () => {
  const parts = args.databaseUrl !== undefined ? postgresParts(args.databaseUrl, args.schema!) : redisParts(args.redisUrl!);
  await parts.ready();
  const manager = new JwtUserSessionManager(
    managerOptions(keySet('HS256'), {
      refreshTokenStore: parts.store,
      invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
      broadcaster: parts.broadcaster,
    }),
  );
  await manager.ready();
  let port = 0;
  if (role === 'b' && args.redisUrl !== undefined) {
    const io = new Server({ transports: ['websocket'] });
    attachSessionGuard(io, manager);
    const http = createServer();
    io.attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  process.on('message', (raw) => {
    const m = raw as Record<string, unknown> & { type: string };
    void (async () => {
      switch (m.type) {
        case 'clock':
          await send({ type: 'clock', t: now() });
          break;
        case 'raw-add': {
          const t0 = now();
          await parts.raw.add(Number(m.n));
          await send({ type: 'raw-added', t0 });
          break;
        }
        case 'raw-watch': {
          const reading = parts.raw.watch();
          await send({ type: 'raw-watching' });
          const ok = await reading;
          await send({ type: 'raw-read', t1: now(), ok });
          break;
        }
        case 'create': {
          const tokens = await manager.create(String(m.subject));
          await send({ type: 'created', accessToken: tokens.accessToken, sessionId: tokens.sessionId });
          break;
        }
        case 'delete': {
          const t0 = now();
          const deleted = await manager.deleteOne(String(m.subject), String(m.sessionId));
          await send({ type: 'deleted', t0, returned: now(), deleted });
          break;
        }
        case 'watch': {
          const token = String(m.token);
          const sessionId = String(m.sessionId);
          // Read twice, so the token is cached (admitted on its second verification): the revocation has to beat the cache.
          await manager.read(token);
          await manager.read(token);
          let settled = false;
          const report = (t1: number, ok: boolean, how: string) => {
            if (settled) return;
            settled = true;
            manager.off(SESSION_INVALIDATED, listener);
            clearTimeout(timer);
            void send({ type: 'rejected', t1, ok, how });
          };
          const listener = (event: { sessionId: string }) => {
            if (event.sessionId !== sessionId) return;
            manager.read(token).then(
              () => report(now(), false, 'event, but read() still accepted the token'),
              (error: unknown) => report(now(), isSessionError(error) && error.code === 'ERR_SESSION_REVOKED', 'event'),
            );
          };
          manager.on(SESSION_INVALIDATED, listener);
          const timer = setTimeout(() => report(now(), false, 'timeout: no invalidation within 5 s'), 5000);
          await send({ type: 'watching' });
          break;
        }
        default:
      }
    })().catch((error: unknown) => void send({ type: 'error', message: String(error) }));
  });
  await send({ type: 'ready', port });
}, false);

/**
 * Case 7: one "node" of a two-node deployment — a manager on the shared Redis
 * (store + RedisInvalidationBroadcaster). Role "a" creates and deletes
 * sessions; role "b" holds a verified (cached) token and a guarded Socket.IO
 * server, and reports the moment its read() starts rejecting the token.
 * Times are `performance.timeOrigin + performance.now()` (ms); the parent
 * estimates each process's clock offset from `clock` round trips.
 * argv: JSON { role: 'a' | 'b', redisUrl: string }
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { JwtUserSessionManager, SESSION_INVALIDATED, isSessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { childMain, send } from '../lib/child-side.js';
import { managerOptions, keySet } from '../lib/fixtures.js';

const { role, redisUrl } = JSON.parse(process.argv[2]!) as { role: 'a' | 'b'; redisUrl: string };
const now = () => performance.timeOrigin + performance.now();

childMain(async () => {
  const client = new Redis(redisUrl);
  client.on('error', () => undefined);
  const manager = new JwtUserSessionManager(
    managerOptions(keySet('HS256'), {
      refreshTokenStore: new RedisRefreshTokenStore(client),
      invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
      broadcaster: new RedisInvalidationBroadcaster(client),
    }),
  );
  await manager.ready();
  let port = 0;
  if (role === 'b') {
    const io = new Server({ transports: ['websocket'] });
    attachSessionGuard(io, manager);
    const http = createServer();
    io.attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  // The floor under case 7: one XADD on A's connection, one XREAD BLOCK on B's own connection, no library code.
  const RAW_STREAM = 'bench:raw-propagation';
  const rawReader = role === 'b' ? client.duplicate() : undefined;
  rawReader?.on('error', () => undefined);
  let rawLastId = '0-0';

  process.on('message', (raw) => {
    const m = raw as Record<string, unknown> & { type: string };
    void (async () => {
      switch (m.type) {
        case 'clock':
          await send({ type: 'clock', t: now() });
          break;
        case 'raw-add': {
          const t0 = now();
          await client.xadd(RAW_STREAM, 'MAXLEN', '~', '1000', '*', 'n', String(m.n));
          await send({ type: 'raw-added', t0 });
          break;
        }
        case 'raw-watch': {
          const reading = rawReader!.xread('BLOCK', 5000, 'STREAMS', RAW_STREAM, rawLastId);
          await send({ type: 'raw-watching' });
          const reply = (await reading) as [string, [string, string[]][]][] | null;
          const t1 = now();
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length > 0) rawLastId = entries[entries.length - 1]![0];
          await send({ type: 'raw-read', t1, ok: entries.length > 0 });
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

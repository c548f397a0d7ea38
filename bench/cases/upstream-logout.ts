/**
 * Issue 26 §5: a logout that starts at the identity provider. The provider
 * POSTs a back-channel logout token (OIDC Back-Channel Logout 1.0, signed
 * ES256, its keys served as a JWK Set) to node A's endpoint; we measure until
 * a Socket.IO client of that session, connected to node B, sees its socket
 * dropped. Both nodes share one Redis (store, broadcaster, replay cache); one
 * process, so one clock. Line: p99 ≤ 50 ms.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { backchannelLogout } from '@jwt-session/http';
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { RedisDpopReplayCache, RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { latencyRow } from './propagation.js';
import { redisClient } from '../lib/redis.js';
import type { BenchContext, Row } from '../lib/types.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export async function runUpstreamLogout(ctx: BenchContext): Promise<Row[]> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
  const idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const prefix = `bench-upstream-${process.pid}:`;
  const closers: (() => unknown)[] = [() => idp.close()];

  const node = async () => {
    const redis = await redisClient();
    const cache = new MemoryInvalidAccessTokenCache();
    const manager = new JwtUserSessionManager({
      keys: { kid: 'k1', algorithm: 'HS256', secret: 'bench-upstream-logout-secret-0123456789' },
      issuer: 'https://app.bench',
      audience: 'api',
      refreshTokenStore: new RedisRefreshTokenStore(redis, { keyPrefix: prefix }),
      invalidAccessTokenCache: cache,
      broadcaster: new RedisInvalidationBroadcaster(redis, { keyPrefix: prefix }),
      telemetry: false,
    });
    await manager.ready();
    const logout = backchannelLogout(manager, {
      path: '/bcl',
      verifier: { providers: [{ issuer, clientId: 'bench-app', jwksUrl: `${issuer}/jwks` }], replayCache: new RedisDpopReplayCache(redis, { keyPrefix: prefix }), telemetry: false },
    });
    const http = createServer((req, res) => logout(req, res, () => res.writeHead(404).end()));
    const io = new Server(http);
    const guard = attachSessionGuard(io, manager);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      guard.close();
      io.close();
      http.closeAllConnections();
      await manager.close();
      cache.close();
    });
    return { manager, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
  };

  const a = await node();
  const b = await node();
  const trials = ctx.quick ? 30 : 200;
  const values: number[] = [];
  const failures: string[] = [];
  try {
    for (let i = -1; i < trials; i++) {
      const sid = `bench-sid-${i}-${Date.now()}`;
      const tokens = await a.manager.create(`user-${i}`, { upstream: { issuer, subject: `idp-user-${i}`, sessionId: sid } });
      const socket = connect(b.url, { auth: { token: tokens.accessToken }, transports: ['websocket'], reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const dropped = new Promise<number>((resolve) => socket.once('disconnect', () => resolve(performance.now())));
      const token = await new SignJWT({ sid, events: { [EVENT]: {} }, jti: `${sid}-jti` })
        .setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: 'bench' })
        .setIssuer(issuer)
        .setAudience('bench-app')
        .setIssuedAt()
        .sign(privateKey);
      const started = performance.now();
      const res = await fetch(`${a.url}/bcl`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) });
      const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 2000));
      const at = await Promise.race([dropped, timeout]);
      socket.close();
      if (res.status !== 200 || Number.isNaN(at)) {
        failures.push(`trial ${i}: HTTP ${res.status}${Number.isNaN(at) ? ', socket not dropped within 2 s' : ''}`);
        continue;
      }
      if (i >= 0) values.push(at - started); // trial -1 warms up the key fetch and the connections
    }
  } finally {
    for (const close of closers.reverse()) await close();
  }
  ctx.log(`upstream logout: ${values.length}/${trials} trials measured`);
  const row = latencyRow('26a', 'the session’s socket dropped on B', values, { trials, goalMs: 50, failures, extra: {} });
  return [{ ...row, case: `upstream logout: provider's back-channel POST to A → the session's socket dropped on B (p99 ms; p50 ${row.extra!.p50 === undefined ? '-' : (row.extra!.p50 as number).toFixed(2)} ms)` }];
}

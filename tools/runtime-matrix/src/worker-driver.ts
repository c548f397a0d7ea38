// Node side of the workerd check: the origin. Issues tokens with the real
// manager, serves its revocation log (GET /auth/revocations of
// @jwt-session/http on a Node server, on ORIGIN_PORT) and asks the Worker.
import { sessionRouter } from '@jwt-session/http';
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { createServer } from 'node:http';
import { AUDIENCE, check, expect, ISSUER, REVOCATIONS_SECRET, SECRET } from './report.js';

const url = process.env.WORKER_URL!;
const store = new MemoryRefreshTokenStore();
const cache = new MemoryInvalidAccessTokenCache();
const broadcaster = new MemoryBroadcaster();
const manager = new JwtUserSessionManager({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, refreshTokenStore: store, invalidAccessTokenCache: cache, broadcaster });
const router = sessionRouter(manager, { revocations: { broadcaster, secret: REVOCATIONS_SECRET } });
const origin = createServer((req, res) => router(req, res, () => void res.writeHead(404).end()));
await new Promise<void>((resolve) => origin.listen(Number(process.env.ORIGIN_PORT), '127.0.0.1', resolve));
const { accessToken } = await manager.create('dave');

await check('JwtSessionVerifier in a Worker verifies a token the origin issued, refuses a forged one', async () => {
  const ok = await fetch(`${url}/verify?token=${accessToken}`);
  expect(ok.status === 200 && ((await ok.json()) as { sub: string }).sub === 'dave', `verify: ${ok.status}`);
  const forged = await fetch(`${url}/verify?token=${accessToken.slice(0, -4)}AAAA`);
  expect(forged.status === 401 && ((await forged.json()) as { code: string }).code === 'ERR_AUTH_TOKEN_INVALID', `forged: ${forged.status}`);
});

await check('honoSessionAuth in a Worker: c.get(\'auth\') with a token, RFC 6750 challenges without or with a bad one', async () => {
  const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(me.status === 200 && ((await me.json()) as { userId: string }).userId === 'dave', `me: ${me.status}`);
  const missing = await fetch(`${url}/api/me`);
  expect(missing.status === 401 && missing.headers.get('www-authenticate') === 'Bearer realm="edge"', `missing: ${missing.status} ${missing.headers.get('www-authenticate')}`);
  const bad = await fetch(`${url}/api/me`, { headers: { authorization: 'Bearer e30.e30.e30' } });
  const body = (await bad.json()) as { error: string };
  expect(bad.status === 401 && body.error === 'ERR_AUTH_TOKEN_INVALID' && /error="invalid_token"/.test(bad.headers.get('www-authenticate') ?? ''), `bad: ${bad.status}`);
});

await check('a Worker following the origin\'s revocation log (PollingInvalidationBroadcaster, timers: false) refuses a token revoked at the origin', async () => {
  const erin = await manager.create('erin');
  const verify = async () => {
    const res = await fetch(`${url}/edge/verify?token=${erin.accessToken}`);
    return { status: res.status, body: (await res.json()) as { sub?: string; code?: string } };
  };
  const before = await verify();
  expect(before.status === 200 && before.body.sub === 'erin', `before: ${before.status} ${JSON.stringify(before.body)}`);
  await manager.deleteOne('erin', erin.sessionId);
  const t0 = Date.now();
  let after = await verify();
  // POLL_INTERVAL is 200 ms here: refused within a few intervals at most.
  while (after.status === 200 && Date.now() - t0 < 3000) after = await verify();
  expect(after.status === 401 && after.body.code === 'ERR_SESSION_REVOKED', `after ${Date.now() - t0} ms: ${after.status} ${JSON.stringify(after.body)}`);
});

origin.closeAllConnections();
origin.close();
await manager.close();
await store.close();
cache.close();

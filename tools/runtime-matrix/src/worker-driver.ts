// Node side of the workerd check: issues tokens with the real manager and asks the Worker.
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { AUDIENCE, check, expect, ISSUER, SECRET } from './report.js';

const url = process.env.WORKER_URL!;
const store = new MemoryRefreshTokenStore();
const cache = new MemoryInvalidAccessTokenCache();
const manager = new JwtUserSessionManager({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, refreshTokenStore: store, invalidAccessTokenCache: cache });
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

await manager.close();
await store.close();
cache.close();

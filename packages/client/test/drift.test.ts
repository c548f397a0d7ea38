// Issue #22, drift under `drift: 'refresh'`, end to end: the endpoints give the
// client's network to create() and update(), the API's guard (socketio-adapter
// httpAuth with `network`) refuses a token issued for another network with
// 401 invalid_token, and the client's fetch renews once and retries — the
// request succeeds, with a token for the network the client moved to.
import { sessionRouter } from '@jwt-session/http';
import { JwtUserSessionManager, SESSION_DEVICE_CHANGED, type SessionEvents } from '@jwt-session/session-core';
import { httpAuth } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient } from '../src/index.js';
import { Profile } from './support/browser.js';

const S = suite('client: drift refresh');

/** The network of a request: a header here, as every test request comes from 127.0.0.1 (an app takes the /24 or /48 of the address). */
const networkOf = (req: { headers: IncomingMessage['headers'] }) => String(req.headers['x-network'] ?? 'none');

S('a token refused from a new network (401 invalid_token, drift) is renewed once by fetch, and the retry passes', async () => {
  const store = new MemoryRefreshTokenStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' },
    issuer: 'https://auth.test',
    audience: 'https://api.test',
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    refreshTokenReuseInterval: 0,
    drift: 'refresh',
  });
  const changes: SessionEvents['sessionDeviceChanged'][] = [];
  manager.on(SESSION_DEVICE_CHANGED, (e) => changes.push(e));
  const sessions = sessionRouter(manager, { basePath: '/auth', device: (req) => ({ summary: 'Firefox on macOS', network: networkOf(req) }) });
  const guard = httpAuth(manager, { network: networkOf });
  const refusals: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const done = (error?: unknown) => {
      res.statusCode = error === undefined ? 404 : 500;
      res.end();
    };
    if (req.method === 'POST' && req.url === '/auth/sign-in') return void sessions.issueSession(req, res, 'alice');
    if (req.url?.startsWith('/auth/')) return void sessions(req, res, done);
    res.once('finish', () => {
      if (res.statusCode === 401) refusals.push(String(res.getHeader('www-authenticate')));
    });
    guard(req, res, () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sub: (req as IncomingMessage & { auth?: { sub: string } }).auth?.sub }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = new Profile();
  let network = '203.0.113.0/24';
  const moving: typeof fetch = (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-network', network);
    return profile.fetch(input, { ...init, headers });
  };
  const client = new SessionClient({ baseUrl: `${url}/auth`, fetch: moving, channel: `test-${randomUUID()}` });
  try {
    await client.signIn({});
    assert.equal(await (await client.fetch(`${url}/api/me`)).json(), { sub: 'alice' });
    network = '198.51.100.0/24';
    const moved = await client.fetch(`${url}/api/me`);
    assert.is(moved.status, 200);
    assert.equal(await moved.json(), { sub: 'alice' });
    assert.equal(refusals.length, 1, 'one refusal, then the renewed token passed');
    assert.match(refusals[0]!, /^Bearer error="invalid_token"/);
    assert.equal(changes.map((e) => [e.changed, e.revoked]), [[['network'], false]]);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await manager.close();
    await store.close();
    cache.close();
  }
});

S.run();

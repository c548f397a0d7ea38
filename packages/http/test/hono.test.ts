import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { honoSessionRoutes } from '../src/hono.js';
import { honoFramework } from './frameworks.js';
import { dpopSuite } from './suites/dpop.js';
import { endpointsSuite } from './suites/endpoints.js';
import { reauthenticateSuite } from './suites/reauthenticate.js';
import { driftSuite } from './suites/drift.js';
import { Cleanup, Client, cookieAttributes, makeManager } from './support.js';

endpointsSuite(honoFramework);
dpopSuite(honoFramework);
reauthenticateSuite(honoFramework);
driftSuite(honoFramework);

const S = suite('Hono specifics');

async function serve(cleanup: Cleanup, app: Hono): Promise<string> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise((resolve) => server.close(resolve)));
  cleanup.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

S('honoSessionRoutes: a bad getConnInfo or an unknown option fails at construction with ERR_CONFIG_INVALID', () => {
  const cleanup = new Cleanup();
  const manager = makeManager(cleanup);
  for (const [options, message] of [
    [{ getConnInfo: 'yes' }, /^options\.getConnInfo must be a function/],
    [{ secret: 'x' }, /^options\.secret is not an option/],
    [{ basePath: 'auth' }, /^options\.basePath /],
  ] as const) {
    try {
      honoSessionRoutes(manager, options as never);
      assert.unreachable('accepted');
    } catch (error) {
      assert.is((error as { code: string }).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, message);
    }
  }
  void cleanup.run();
});

S('keeps cookies the app set on the same response, and a sub-app mounted under a path matches the full basePath', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const api = new Hono();
    const sessions = honoSessionRoutes(manager, { basePath: '/api/auth' });
    api.use(sessions);
    api.post('/login', (c) => {
      setCookie(c, 'theme', 'dark');
      return sessions.issueSession(c, 'alice');
    });
    const app = new Hono().route('/api', api);
    const origin = await serve(cleanup, app);
    const res = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'x-jwt-session': '1', origin } });
    assert.is(res.status, 200);
    const cookies = res.headers.getSetCookie();
    assert.equal(cookies.map((c) => cookieAttributes(c).name), ['theme', 'jwt-session-refresh']);
    assert.is(cookieAttributes(cookies[1]!).path, '/api/auth');
    const client = new Client(origin);
    client.cookie = cookies[1]!.split(';')[0];
    const refreshed = await client.call('/api/auth/refresh');
    assert.is(refreshed.status, 200, refreshed.text);
    // Without getConnInfo no address is recorded (a Web Request carries none).
    const listed = await client.call('/api/auth/sessions', { method: 'GET', bearer: (refreshed.body as { accessToken: string }).accessToken });
    assert.is(listed.status, 200, listed.text);
    assert.is((listed.body as { sessions: { ip?: string }[] }).sessions[0]!.ip, undefined);
  } finally {
    await cleanup.run();
  }
});

S('a getConnInfo that throws (the wrong runtime’s helper) records no address and still answers', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const app = new Hono();
    const sessions = honoSessionRoutes(manager, {
      getConnInfo: () => {
        throw new Error('not this runtime');
      },
    });
    app.use(sessions);
    app.post('/login', (c) => sessions.issueSession(c, 'alice'));
    const origin = await serve(cleanup, app);
    const res = await fetch(`${origin}/login`, { method: 'POST', headers: { 'x-jwt-session': '1', origin } });
    assert.is(res.status, 200);
    const [session] = await manager.readAll('alice');
    assert.is(session?.context.ip, undefined);
    assert.is(session?.context.device, 'Unknown device');
  } finally {
    await cleanup.run();
  }
});

S.run();

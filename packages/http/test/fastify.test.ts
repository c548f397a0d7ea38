import Fastify from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionRoutes } from '../src/fastify.js';
import { fastifyFramework } from './frameworks.js';
import { dpopSuite } from './suites/dpop.js';
import { endpointsSuite } from './suites/endpoints.js';
import { reauthenticateSuite } from './suites/reauthenticate.js';
import { driftSuite } from './suites/drift.js';
import { Cleanup, Client, cookieAttributes, makeManager } from './support.js';

endpointsSuite(fastifyFramework);
dpopSuite(fastifyFramework);
reauthenticateSuite(fastifyFramework);
driftSuite(fastifyFramework);

const S = suite('Fastify specifics');

S('the plugin registered without a manager (or options) fails at start-up with ERR_CONFIG_INVALID', async () => {
  for (const options of [undefined, {}]) {
    const app = Fastify();
    try {
      await app.register(sessionRoutes, options as never);
      await app.ready();
      assert.unreachable('started without a manager');
    } catch (error) {
      assert.is((error as { code: string }).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, /^manager /);
    } finally {
      await app.close().catch(() => undefined);
    }
  }
});

S('the plugin’s body handling stays in its own scope: the app still parses JSON and refuses bad JSON', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const origin = await fastifyFramework.start(cleanup, manager, { endpoints: {} });
    const client = new Client(origin);
    const echo = await client.call('/app/echo', { headers: { 'content-type': 'application/json' }, csrf: false });
    assert.is(echo.status, 400, 'empty JSON body refused by the app’s own parser');
    const res = await fetch(`${origin}/app/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(await res.json(), { echo: { a: 1 } });
  } finally {
    await cleanup.run();
  }
});

S('issueSession is a decorator of the registering scope (the plugin does not encapsulate it)', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const app = Fastify();
    cleanup.add(() => app.close());
    await app.register(sessionRoutes, { manager });
    await app.register(async (child) => {
      child.post('/child-login', async (request, reply) => {
        await child.issueSession(request, reply, 'alice');
        return reply;
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    const client = new Client(`http://127.0.0.1:${address.port}`);
    const answer = await client.call('/child-login');
    assert.is(answer.status, 200);
    assert.ok(client.cookie?.startsWith('jwt-session-refresh='));
  } finally {
    await cleanup.run();
  }
});

S('registered inside a prefixed scope: routes and the cookie’s Path both carry the prefix (a cookie the refresh route never receives would sign everyone out silently)', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const app = Fastify();
    cleanup.add(() => app.close());
    await app.register(
      async (api) => {
        await api.register(sessionRoutes, { manager, basePath: '/session/' });
        api.post('/login', async (request, reply) => {
          await api.issueSession(request, reply, 'alice');
          return reply;
        });
      },
      { prefix: '/api' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new Client(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    const signIn = await client.call('/api/login');
    assert.is(cookieAttributes(signIn.setCookie!).path, '/api/session');
    const refreshed = await client.call('/api/session/refresh');
    assert.equal([refreshed.status, cookieAttributes(refreshed.setCookie!).path], [200, '/api/session']);
    assert.is((await client.call('/session/refresh')).status, 404);
  } finally {
    await cleanup.run();
  }
});

S.run();

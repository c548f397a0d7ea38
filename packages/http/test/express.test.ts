import express from 'express';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionRouter } from '../src/index.js';
import { expressFramework } from './frameworks.js';
import { dpopSuite } from './suites/dpop.js';
import { endpointsSuite } from './suites/endpoints.js';
import { reauthenticateSuite } from './suites/reauthenticate.js';
import { driftSuite } from './suites/drift.js';
import { Cleanup, Client, cookieAttributes, makeManager } from './support.js';

endpointsSuite(expressFramework);
dpopSuite(expressFramework);
reauthenticateSuite(expressFramework);
driftSuite(expressFramework);

const S = suite('Express specifics');

S('sessionRouter(undefined) fails at construction with ERR_CONFIG_INVALID, not on the first request', () => {
  try {
    sessionRouter(undefined as never);
    assert.unreachable('accepted a missing manager');
  } catch (error) {
    assert.is((error as { code: string }).code, 'ERR_CONFIG_INVALID');
    assert.match((error as Error).message, /^manager /);
  }
});

S('works mounted with a body parser before it and keeps cookies the app set on the same response', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const app = express();
    app.use(express.json());
    const sessions = sessionRouter(manager);
    app.use(sessions);
    app.post('/login', async (req, res) => {
      res.cookie('theme', 'dark');
      const body = await sessions.issueSession(req, res, 'alice');
      assert.type(body?.accessToken, 'string');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    cleanup.add(() => server.closeAllConnections());
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${origin}/login`, { method: 'POST', headers: { 'x-jwt-session': '1', origin } });
    const cookies = res.headers.getSetCookie().map((c) => cookieAttributes(c).name);
    assert.equal(cookies, ['theme', 'jwt-session-refresh']);
    const client = new Client(origin);
    client.cookie = res.headers.getSetCookie()[1]!.split(';')[0];
    const refreshed = await client.call('/auth/refresh', { headers: { 'content-type': 'application/json' } });
    assert.is(refreshed.status, 200);
  } finally {
    await cleanup.run();
  }
});

S('mounted under a path, basePath is still the full public path (and the cookie’s Path)', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const app = express();
    const sessions = sessionRouter(manager, { basePath: '/api/auth' });
    app.use('/api', sessions);
    app.post('/api/login', (req, res) => void sessions.issueSession(req, res, 'alice'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    cleanup.add(() => server.closeAllConnections());
    const client = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const signIn = await client.call('/api/login');
    assert.is(cookieAttributes(signIn.setCookie!).path, '/api/auth');
    const refreshed = await client.call('/api/auth/refresh');
    assert.equal([refreshed.status, cookieAttributes(refreshed.setCookie!).path], [200, '/api/auth']);
  } finally {
    await cleanup.run();
  }
});

// Guards the reviewer's finding on #12: a write that throws (ERR_HTTP_HEADERS_SENT,
// because an earlier middleware already answered) reached no handler and became
// an unhandled rejection, which crashes the process. It must go to next(error).
S('a failing write (headers already sent by an earlier middleware) goes to next(error), not an unhandled rejection', async () => {
  const cleanup = new Cleanup();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  cleanup.add(() => void process.off('unhandledRejection', onUnhandled));
  try {
    const manager = makeManager(cleanup);
    const app = express();
    app.use((_req, res, next) => {
      res.end('answered early');
      next();
    });
    app.use(sessionRouter(manager));
    let reportError!: (error: unknown) => void;
    const reported = new Promise<unknown>((resolve) => (reportError = resolve));
    app.use((error: unknown, _req: express.Request, _res: express.Response, _next: express.NextFunction) => reportError(error));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    cleanup.add(() => server.closeAllConnections());
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${origin}/auth/refresh`, { method: 'POST', headers: { 'x-jwt-session': '1', origin } });
    assert.is(await res.text(), 'answered early');
    // Waits for whichever comes first: the error handler, or an unhandled rejection (generous bound for a busy machine).
    const error = await Promise.race([
      reported,
      new Promise<unknown>((resolve) => {
        const poll = setInterval(() => {
          if (unhandled.length > 0) {
            clearInterval(poll);
            resolve(undefined);
          }
        }, 10);
        setTimeout(() => {
          clearInterval(poll);
          resolve(undefined);
        }, 10_000).unref();
      }),
    ]);
    assert.equal(unhandled, []);
    assert.is((error as { code?: string } | undefined)?.code, 'ERR_HTTP_HEADERS_SENT');
  } finally {
    await cleanup.run();
  }
});

S.run();

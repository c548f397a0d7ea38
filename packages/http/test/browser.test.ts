// The cookie and CSRF defaults as a real browser applies them: Debian's
// chromium driven by playwright-core, the endpoints served over https with
// the test certificate, and an attacker page on another site.
import express from 'express';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionRouter, type SessionEndpointsOptions } from '../src/index.js';
import { Cleanup, makeManager, TLS } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const S = suite('in Chromium');
let browser: Browser | undefined;

S.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // *.example.test: an app and a sibling subdomain of one site, both served here (cookie tossing).
    args: ['--host-resolver-rules=MAP *.example.test 127.0.0.1', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

S.after(async () => {
  await browser?.close();
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** The app on https://127.0.0.1:<port>: a blank page, the endpoints, a sign-in route, and a route that reports the cookies it received. */
async function startApp(c: Cleanup, options: SessionEndpointsOptions = {}) {
  const manager = makeManager(c, { refreshTokenTtl: 3600 });
  const app = express();
  const sessions = sessionRouter(manager, options);
  // The Cookie header each refresh came with, as the browser sent it.
  const refreshCookies: string[] = [];
  app.use((req, _res, next) => {
    if (req.path === '/auth/refresh') refreshCookies.push(req.headers.cookie ?? '');
    next();
  });
  app.use(sessions);
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>app</title>'));
  app.get('/favicon.ico', (_req, res) => void res.status(204).end());
  app.post('/login', (req, res) => void sessions.issueSession(req, res, 'alice'));
  app.get('/app/cookies', (req, res) => void res.json({ cookie: req.headers.cookie ?? '' }));
  const server = createHttpsServer(TLS, app);
  const port = await listen(server);
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return { manager, origin: `https://127.0.0.1:${port}`, port, refreshCookies };
}

async function newContext(c: Cleanup): Promise<BrowserContext> {
  const context = await browser!.newContext({ ignoreHTTPSErrors: true });
  c.add(() => context.close());
  return context;
}

/** Console errors and failed page scripts, the way a developer would see them. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** A fetch from the page, as @jwt-session/client would make it. */
function call(page: Page, path: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return page.evaluate(
    async (request) => {
      const res = await fetch(request.path, { method: request.method, headers: { 'X-JWT-Session': '1' }, credentials: 'same-origin' });
      return { status: res.status, body: await res.text() };
    },
    { path, method },
  );
}

S('a signed-out visitor restoring the session on load: 204, nothing in the console (a 401 would log an error)', async () => {
  const c = new Cleanup();
  try {
    const { origin } = await startApp(c);
    const page = await (await newContext(c)).newPage();
    const errors = consoleErrors(page);
    await page.goto(origin);
    assert.equal(await call(page, '/auth/refresh'), { status: 204, body: '' });
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    assert.equal(errors, []);
    // The control: the same way of looking does see a 401.
    assert.is((await call(page, '/auth/sessions', 'GET')).status, 401);
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    assert.ok(errors.some((e) => e.includes('401')), `a 401 is logged: ${JSON.stringify(errors)}`);
  } finally {
    await c.run();
  }
});

S('the browser keeps the cookie as set: __Secure-, Secure, HttpOnly, SameSite=Strict, Path=/auth, expiry from the refresh deadline; only the endpoints receive it', async () => {
  const c = new Cleanup();
  try {
    const { manager, origin } = await startApp(c);
    const context = await newContext(c);
    const page = await context.newPage();
    await page.goto(origin);
    const signIn = await call(page, '/login');
    assert.is(signIn.status, 200, signIn.body);

    const [cookie, ...others] = await context.cookies();
    assert.is(others.length, 0);
    assert.equal(
      [cookie!.name, cookie!.path, cookie!.secure, cookie!.httpOnly, cookie!.sameSite, cookie!.domain],
      ['__Secure-jwt-session-refresh', '/auth', true, true, 'Strict', '127.0.0.1'],
    );
    const lifetime = cookie!.expires - Date.now() / 1000;
    assert.ok(lifetime > 3500 && lifetime <= 3600, `expires in ${lifetime} s`);
    assert.is(await page.evaluate('document.cookie'), '', 'invisible to the page');

    // Sent to the endpoints (a refresh rotates it), not to the rest of the app. (context.cookies(url)
    // would filter by the URL's path: without one it lists them all.)
    const refreshed = await call(page, '/auth/refresh');
    assert.is(refreshed.status, 200, refreshed.body);
    assert.is.not((await context.cookies())[0]!.value, cookie!.value);
    assert.equal(JSON.parse((await call(page, '/app/cookies', 'GET')).body), { cookie: '' });

    assert.is((await call(page, '/auth/signout')).status, 204);
    assert.equal(await context.cookies(), [], 'signout removed it');
    assert.equal(await manager.readAll('alice'), []);
  } finally {
    await c.run();
  }
});

S('another site cannot sign the user out: its form POST and its fetch are refused, the session lives on', async () => {
  const c = new Cleanup();
  try {
    const { manager, origin } = await startApp(c);
    // localhost is another site than 127.0.0.1 for the browser.
    const evil = express();
    evil.get('/form', (_req, res) =>
      void res.type('html').send(`<!doctype html><form method="post" action="${origin}/auth/signout"></form><script>document.forms[0].submit()</script>`),
    );
    evil.get('/fetch', (_req, res) => void res.type('html').send('<!doctype html><title>evil</title>'));
    evil.get('/favicon.ico', (_req, res) => void res.status(204).end());
    const evilServer = createHttpServer(evil);
    const evilPort = await listen(evilServer);
    c.add(() => new Promise((resolve) => evilServer.close(resolve)));
    c.add(() => evilServer.closeAllConnections());

    const context = await newContext(c);
    const page = await context.newPage();
    await page.goto(origin);
    assert.is((await call(page, '/login')).status, 200);

    const attacker = await context.newPage();
    const answer = attacker.waitForResponse((res) => res.url() === `${origin}/auth/signout`);
    await attacker.goto(`http://localhost:${evilPort}/form`);
    const refused = await answer;
    assert.is(refused.status(), 403);
    assert.equal(await refused.json(), { error: 'ERR_CSRF', message: 'request refused: it is not from an allowed origin or lacks the required header' });

    await attacker.goto(`http://localhost:${evilPort}/fetch`);
    const outcome = await attacker.evaluate(async (target) => {
      try {
        const res = await fetch(`${target}/auth/signout`, { method: 'POST', headers: { 'X-JWT-Session': '1' }, credentials: 'include' });
        return `answered ${res.status}`;
      } catch {
        return 'blocked';
      }
    }, origin);
    assert.is(outcome, 'blocked', 'the preflight for the custom header is never granted');

    assert.is((await manager.readAll('alice')).length, 1, 'still signed in');
    assert.is((await call(page, '/auth/refresh')).status, 200);
  } finally {
    await c.run();
  }
});

S('why the default https name is __Secure- and not __Host-: the browser drops a __Host- cookie whose Path is not "/"', async () => {
  const c = new Cleanup();
  try {
    const app = express();
    app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>app</title>'));
    app.get('/favicon.ico', (_req, res) => void res.status(204).end());
    app.post('/set', (req, res) => void res.set('set-cookie', String(req.query.cookie)).status(204).end());
    const server = createHttpsServer(TLS, app);
    const origin = `https://127.0.0.1:${await listen(server)}`;
    c.add(() => new Promise((resolve) => server.close(resolve)));
    c.add(() => server.closeAllConnections());
    const context = await newContext(c);
    const page = await context.newPage();
    await page.goto(origin);
    for (const cookie of ['__Host-a=1; Path=/auth; Secure; HttpOnly; SameSite=Strict', '__Secure-b=1; Path=/auth; Secure; HttpOnly; SameSite=Strict', '__Host-c=1; Path=/; Secure; HttpOnly; SameSite=Strict']) {
      assert.is((await call(page, `/set?cookie=${encodeURIComponent(cookie)}`)).status, 204);
    }
    assert.equal((await context.cookies()).map((cookie) => cookie.name).sort(), ['__Host-c', '__Secure-b']);
  } finally {
    await c.run();
  }
});

/** A sibling subdomain's server: `GET /toss?cookie=…` answers with that Set-Cookie. */
async function startSibling(c: Cleanup): Promise<number> {
  const evil = express();
  evil.get('/toss', (req, res) => void res.set('set-cookie', String(req.query.cookie)).type('html').send('<!doctype html><title>sibling</title>'));
  evil.get('/favicon.ico', (_req, res) => void res.status(204).end());
  const server = createHttpsServer(TLS, evil);
  const port = await listen(server);
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return port;
}

/** The app on app.example.test signed in as alice, a sibling on evil.example.test, and a token of mallory's to plant. */
async function siblings(c: Cleanup, options: SessionEndpointsOptions = {}) {
  const { manager, port, refreshCookies } = await startApp(c, options);
  const app = `https://app.example.test:${port}`;
  const evil = `https://evil.example.test:${await startSibling(c)}`;
  const context = await newContext(c);
  const page = await context.newPage();
  await page.goto(app);
  assert.is((await call(page, '/login')).status, 200);
  return { manager, app, evil, context, page, refreshCookies, mallory: (await manager.create('mallory')).refreshToken };
}

// Guards #20 item 1 in a real browser: a page on evil.example.test plants a refresh cookie for
// app.example.test with Domain=example.test and a longer Path, which Chromium sends first.
S('cookie tossing from a sibling subdomain: Chromium sends the planted cookie first; refused, the genuine one kept, not signed in as the attacker', async () => {
  const c = new Cleanup();
  try {
    const { manager, evil, context, page, refreshCookies, mallory } = await siblings(c);
    const genuine = (await context.cookies()).find((cookie) => cookie.domain === 'app.example.test')!;
    assert.is(genuine.name, '__Secure-jwt-session-refresh');

    for (const planted of ['garbage', mallory]) {
      const sibling = await context.newPage();
      await sibling.goto(`${evil}/toss?cookie=${encodeURIComponent(`__Secure-jwt-session-refresh=${planted}; Domain=example.test; Path=/auth/refresh; Secure; HttpOnly; SameSite=Lax`)}`);
      await sibling.close();
      const answer = await call(page, '/auth/refresh');
      assert.equal([answer.status, JSON.parse(answer.body).error], [401, 'ERR_REFRESH_COOKIE_AMBIGUOUS']);
      assert.equal(refreshCookies.at(-1), `__Secure-jwt-session-refresh=${planted}; __Secure-jwt-session-refresh=${genuine.value}`, 'the planted cookie came first');
      const kept = (await context.cookies()).filter((cookie) => cookie.name === '__Secure-jwt-session-refresh').map((cookie) => [cookie.domain, cookie.value]);
      assert.equal(kept.sort(), [['.example.test', planted], ['app.example.test', genuine.value]].sort(), 'the genuine cookie was not cleared');
    }
    // Not signed in as mallory, and nothing was spent: once the planted cookie is gone the genuine one works.
    await context.clearCookies({ domain: '.example.test' });
    const back = await call(page, '/auth/refresh');
    assert.is(back.status, 200, back.body);
    assert.is((await manager.read(JSON.parse(back.body).accessToken)).sub, 'alice');
    assert.is((await manager.readAll('mallory')).length, 1);
  } finally {
    await c.run();
  }
});

S('a __Host- refresh cookie (cookie.path "/") cannot be planted by a sibling: Chromium refuses it, refresh goes on working', async () => {
  const c = new Cleanup();
  try {
    const { manager, app, evil, context, page, refreshCookies, mallory } = await siblings(c, { cookie: { path: '/' } });
    const sibling = await context.newPage();
    for (const attributes of ['Domain=example.test; Path=/', 'Path=/']) {
      await sibling.goto(`${evil}/toss?cookie=${encodeURIComponent(`__Host-jwt-session-refresh=${mallory}; ${attributes}; Secure; HttpOnly`)}`);
    }
    // The first is refused (a __Host- cookie with Domain=); the second is evil.example.test's own, never sent to the app.
    assert.equal((await context.cookies(`${app}/auth/refresh`)).map((cookie) => [cookie.name, cookie.domain]), [['__Host-jwt-session-refresh', 'app.example.test']]);
    const answer = await call(page, '/auth/refresh');
    assert.is(answer.status, 200, answer.body);
    assert.is((await manager.read(JSON.parse(answer.body).accessToken)).sub, 'alice');
    assert.is(refreshCookies.at(-1)!.split(';').length, 1, 'one cookie sent');
  } finally {
    await c.run();
  }
});

S.run();

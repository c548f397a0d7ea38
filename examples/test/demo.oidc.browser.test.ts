// Issue 26 §5, "the demo signs in at a provider": the demo (one node on
// memory, then two nodes on one Redis) against `pnpm demo:idp`'s local
// oidc-provider, in Debian's chromium driven by playwright-core. The browser
// clicks "Sign in with your provider", signs in on the provider's own login
// page, and lands signed in: the session is DPoP-bound to the browser's key
// from its first moment (the key the login request proved) and linked to the
// provider's session. Then the user signs out at the provider: it POSTs the
// back-channel logout to the first node, and the tab (on the other node in
// the Redis setup) shows the signed-out state live, its socket gone, while a
// password session of the same person in another browser is untouched.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startRedis } from '@jwt-session/redis-harness';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';
import { startDemoIdp, type DemoIdp } from '../demo/idp.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** From the provider's "Yes, sign me out" to the demo tab's signed-out state. */
const LIVE_SIGN_OUT_MS = 3000;

const S = suite('demo: sign-in at an OpenID provider');
let browser: Browser | undefined;

S.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

S.after(async () => {
  await browser?.close();
});

/** A port free right now: the provider must know the demo's URLs before the demo, which must know the provider's issuer. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`  page error: ${error.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-state="signed-out"]');
  return page;
}

const sessionSockets = async (node: DemoNode, sessionId: string) => (await node.io.in(`session:${sessionId}`).fetchSockets()).length;

interface Setup {
  nodes: DemoNode[];
  idp: DemoIdp;
  stop(): Promise<void>;
}

/** The provider first (on the demo nodes' future URLs), then the nodes configured with its issuer and the client it registered. */
async function start(count: number, redisUrl?: string): Promise<Setup> {
  const ports = await Promise.all(Array.from({ length: count }, freePort));
  const idp = await startDemoIdp({ port: 0, demoUrls: ports.map((port) => `http://127.0.0.1:${port}`) });
  const nodes: DemoNode[] = [];
  try {
    for (const port of ports) {
      nodes.push(await startDemo({ port, host: '127.0.0.1', log: false, redisUrl, oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } }));
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()));
    await idp.close();
    throw error;
  }
  return {
    nodes,
    idp,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.close()));
      await idp.close();
    },
  };
}

/** `loginNode` serves the tab that signs in at the provider; the provider's back-channel logout goes to nodes[0]. */
async function scenario({ nodes, idp }: Setup, loginNode: DemoNode, label: string): Promise<void> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 820 } });
  const other = await browser!.newContext({ viewport: { width: 1280, height: 820 } });
  try {
    // The same person signed in with a password in another browser: a session the provider knows nothing of.
    const passwordPage = await openPage(other, loginNode.url);
    await passwordPage.fill('#username', 'alice');
    await passwordPage.fill('#password', 'wonderland');
    await passwordPage.click('#signin-submit');
    await passwordPage.waitForSelector('#socket-status[data-connected="true"]');

    const page = await openPage(context, loginNode.url);
    assert.is(await page.textContent('#provider-issuer'), idp.issuer, 'the page offers the configured provider');
    await page.click('#provider-signin-button');
    // The provider's own login page: a wrong password is refused there, then the right one.
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.fill('input[name="login"]', 'alice');
    await page.fill('input[name="password"]', 'not-it');
    await page.click('#idp-sign-in');
    await page.waitForSelector('text=Wrong user name or password.');
    await page.fill('input[name="login"]', 'alice');
    await page.fill('input[name="password"]', 'wonderland');
    await page.click('#idp-sign-in');
    // Back at the demo: the callback set the cookie and sent the browser to /, where restore() took the session up.
    await page.waitForURL(`${loginNode.url}/`);
    await page.waitForSelector('body[data-state="signed-in"]');
    await page.waitForSelector('#socket-status[data-connected="true"]');
    assert.is(await page.textContent('#account-name'), 'Alice Martin', 'the name from the ID token');
    const sessionId = (await page.evaluate('window.demo.sessionId')) as string;

    // Linked to the provider's session, and bound to this browser's key since its creation: the key the login request proved.
    const [session, ...more] = await loginNode.manager.readAll('oidc:alice');
    assert.is(more.length, 0);
    assert.is(session!.sessionId, sessionId);
    assert.is(session!.upstream?.issuer, idp.issuer);
    assert.is(session!.upstream?.subject, 'alice');
    assert.type(session!.upstream?.sessionId, 'string');
    assert.type(session!.dpop?.jkt, 'string', 'bound from its first moment');
    assert.is(await page.evaluate('window.demo.bound'), true, "the access token's cnf.jkt");
    assert.is(await page.evaluate('window.demo.check()'), 200, 'API calls pass with proofs by the key');
    // A copied access token without the key: 401, as for a password session.
    await page.click('#copy-token');
    await page.waitForSelector('#stolen[data-status="401"]');
    // "My sessions" says where it was signed in.
    await page.waitForSelector(`#sessions li[data-session-id="${sessionId}"] .key[data-bound="true"]`);
    assert.is(await page.textContent(`#sessions li[data-session-id="${sessionId}"] .provider`), `signed in at ${idp.issuer}`);
    // A reload: the refresh cookie and the key in IndexedDB bring the bound session back.
    await page.reload();
    await page.waitForSelector('body[data-state="signed-in"]');
    assert.is(await page.evaluate('window.demo.sessionId'), sessionId);
    await page.waitForSelector('#socket-status[data-connected="true"]');
    await until('the tab socket on its node', async () => (await sessionSockets(loginNode, sessionId)) === 1);

    // Sign out at the provider, in another tab of the same browser: it POSTs the logout token to nodes[0].
    const idpTab = await context.newPage();
    await idpTab.goto(`${idp.issuer}/session/end`);
    const delivered = idp.deliveries.ok;
    const signedOutAt = Date.now();
    await idpTab.click('#idp-sign-out');
    await page.waitForSelector('body[data-state="signed-out"]', { timeout: LIVE_SIGN_OUT_MS });
    console.log(`  [${label}] provider logout → tab signed out after ${Date.now() - signedOutAt} ms`);
    assert.is(idp.deliveries.ok, delivered + 1, 'the provider delivered one back-channel logout');
    assert.is(idp.deliveries.failed, 0);
    assert.match((await page.textContent('#notice-text')) ?? '', /signed out at your identity provider/);
    assert.is(await page.evaluate('window.demo.socketConnected'), false);
    for (const node of nodes) assert.is(await sessionSockets(node, sessionId), 0, 'the socket is gone on every node');
    assert.equal(await loginNode.manager.readAll('oidc:alice'), [], 'the linked session is ended');
    // Its refresh cookie is dead: a reload stays signed out.
    await page.reload();
    await page.waitForSelector('body[data-state="signed-out"]');

    // The password session of the same person is untouched.
    assert.is(await passwordPage.getAttribute('body', 'data-state'), 'signed-in');
    assert.is(await passwordPage.evaluate('window.demo.check()'), 200);
    assert.is(await passwordPage.evaluate('window.demo.socketConnected'), true);
  } finally {
    await context.close();
    await other.close();
  }
}

S('one node (memory): provider sign-in, bound and linked; a logout at the provider ends the tab live', async () => {
  const setup = await start(1);
  try {
    await scenario(setup, setup.nodes[0]!, 'memory');
  } finally {
    await setup.stop();
  }
});

S('two nodes on Redis: signed in on node B, the provider logs out through node A, the tab on B ends live', async () => {
  assert.is(spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status, 0, 'redis-server is not installed');
  const redis = await startRedis();
  try {
    const setup = await start(2, redis.url);
    try {
      assert.is(setup.nodes[0]!.storage, 'redis');
      await scenario(setup, setup.nodes[1]!, 'redis');
    } finally {
      await setup.stop();
    }
  } finally {
    await redis.stop();
  }
});

S.run();

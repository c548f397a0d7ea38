// The demo in a real browser: Debian's chromium driven by playwright-core.
// Two browser contexts (two "devices") sign in as the same user; one revokes
// the other's session in "My sessions"; the other tab must show, within one
// second and without a reload, that it was signed out, and its socket must be
// gone on the server; then "Sign out everywhere" signs both out. The same
// scenario runs on one node with memory storage and, when redis-server is
// installed, on two nodes sharing one Redis (one browser context per node).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedis } from '@jwt-session/redis-harness';
import { isUserOnline, socketsOfUser } from '@jwt-session/socketio-adapter';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url));
const USER = { id: 'alice', name: 'Alice Martin', password: 'wonderland' };
/** The tab that is revoked must show it within this many ms (issue 5). */
const LIVE_SIGN_OUT_MS = 1000;

const S = suite('demo');
let browser: Browser | undefined;

S.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  mkdirSync(OUTPUT, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

S.after(async () => {
  await browser?.close();
});

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

async function signIn(page: Page): Promise<void> {
  await page.fill('#username', USER.id);
  await page.fill('#password', USER.password);
  await page.click('#signin-submit');
  await page.waitForSelector('body[data-state="signed-in"]');
  await page.waitForSelector('#socket-status[data-connected="true"]');
}

async function noticeText(page: Page): Promise<string> {
  await page.waitForSelector('#notice:not([hidden])');
  return (await page.textContent('#notice-text')) ?? '';
}

async function socketConnected(page: Page): Promise<boolean> {
  return (await page.evaluate('window.demo.socketConnected')) === true;
}

async function sessionIdOf(page: Page): Promise<string> {
  const id = await page.evaluate('window.demo.sessionId');
  assert.type(id, 'string');
  return id as string;
}

async function sessionSockets(node: DemoNode, sessionId: string): Promise<number> {
  return (await node.io.in(`session:${sessionId}`).fetchSockets()).length;
}

let stepClock = Date.now();
/** DEMO_TEST_VERBOSE=1 prints how long each step took. */
function step(name: string): void {
  if (process.env.DEMO_TEST_VERBOSE) console.log(`    ${name}: ${Date.now() - stepClock} ms`);
  stepClock = Date.now();
}

/** The whole scenario; A's tab is served by nodeA and B's by nodeB (the same node in memory mode). */
async function scenario(nodeA: DemoNode, nodeB: DemoNode, label: string): Promise<void> {
  step('start');
  const contextA = await browser!.newContext({ viewport: { width: 1280, height: 820 } });
  const contextB = await browser!.newContext({ viewport: { width: 1280, height: 820 } });
  try {
    const [pageA, pageB] = await Promise.all([openPage(contextA, nodeA.url), openPage(contextB, nodeB.url)]);
    step('pages open');

    // Bad input: a wrong password gives a message, not a stack trace.
    await pageA.fill('#username', USER.id);
    await pageA.fill('#password', 'not-the-password');
    await pageA.click('#signin-submit');
    assert.is(await noticeText(pageA), 'Wrong user name or password.');
    assert.is(await pageA.getAttribute('body', 'data-state'), 'signed-out');

    await signIn(pageA);
    step('wrong password + sign in A');
    await signIn(pageB);
    const [sidA, sidB] = [await sessionIdOf(pageA), await sessionIdOf(pageB)];
    assert.is.not(sidA, sidB);

    // Both sockets are seen from either node (through the Socket.IO adapter in cluster mode).
    await until('two sockets of the user', async () => (await socketsOfUser(nodeA.io, USER.id)).length === 2);
    assert.is((await socketsOfUser(nodeB.io, USER.id)).length, 2);
    // Presence in the page, and "My sessions" updated live with "this device".
    await pageA.waitForSelector(`#presence-list li[data-user-id="${USER.id}"] small:text("×2")`);
    await pageA.waitForSelector(`#sessions li[data-session-id="${sidB}"]`);
    await pageA.waitForSelector(`#sessions li[data-session-id="${sidA}"][data-current="true"] .this`);
    assert.match((await pageA.textContent(`#sessions li[data-session-id="${sidB}"] .device`)) ?? '', /Chrome/);
    step('presence + sessions');

    // Chat across the two tabs (and nodes).
    const text = `hello from A (${label})`;
    await pageA.fill('#chat-input', text);
    await pageA.press('#chat-input', 'Enter');
    await pageB.waitForSelector(`#messages .message .text:text-is("${text}")`);
    await pageA.waitForSelector(`#messages .message.mine .text:text-is("${text}")`);

    await pageA.screenshot({ path: `${OUTPUT}demo-signed-in-${label}.png` });
    step('chat + screenshot');

    // A reload loses the in-memory access token; the refresh cookie brings the session back.
    await pageB.reload();
    await pageB.waitForSelector('body[data-state="signed-in"]');
    await pageB.waitForSelector('#socket-status[data-connected="true"]');
    assert.is(await sessionIdOf(pageB), sidB);
    step('reload');

    // A tampered access token is refused with a clear message; the real session is unaffected.
    await pageA.click('#tamper');
    assert.match(await noticeText(pageA), /ERR_AUTH_TOKEN_INVALID/);
    assert.is(await pageA.getAttribute('body', 'data-state'), 'signed-in');

    // A revokes B: B's tab shows it within a second, live, and its socket is gone.
    await until('B socket on its node', async () => (await sessionSockets(nodeB, sidB)) === 1);
    const revokedAt = Date.now();
    await pageA.click(`#sessions li[data-session-id="${sidB}"] button.revoke`);
    await pageB.waitForSelector('body[data-state="signed-out"]', { timeout: LIVE_SIGN_OUT_MS });
    const elapsed = Date.now() - revokedAt;
    console.log(`  [${label}] revoked tab signed out after ${elapsed} ms`);
    assert.ok(elapsed < LIVE_SIGN_OUT_MS, `B signed out after ${elapsed} ms`);
    assert.match(await noticeText(pageB), /revoked from another device/);
    assert.is(await socketConnected(pageB), false);
    assert.is(await sessionSockets(nodeB, sidB), 0, 'B socket still connected on the server');
    assert.is(await sessionSockets(nodeA, sidB), 0, 'B socket still visible from node A');
    assert.is((await socketsOfUser(nodeA.io, USER.id)).length, 1);
    assert.is(await pageA.getAttribute('body', 'data-state'), 'signed-in');
    assert.is(await socketConnected(pageA), true);
    await pageA.waitForSelector(`#sessions li[data-session-id="${sidB}"]`, { state: 'detached' });
    step('revoke');

    // B's refresh cookie is dead now: a reload explains it instead of signing in.
    await pageB.reload();
    await pageB.waitForSelector('body[data-state="signed-out"]');
    assert.match(await noticeText(pageB), /no longer valid/);
    step('reload dead cookie');

    // "Sign out everywhere" from A signs out both tabs, live.
    await signIn(pageB);
    await until('two sockets again', async () => (await socketsOfUser(nodeA.io, USER.id)).length === 2);
    const everywhereAt = Date.now();
    await pageA.click('#sign-out-everywhere');
    await Promise.all([
      pageA.waitForSelector('body[data-state="signed-out"]', { timeout: LIVE_SIGN_OUT_MS }),
      pageB.waitForSelector('body[data-state="signed-out"]', { timeout: LIVE_SIGN_OUT_MS }),
    ]);
    console.log(`  [${label}] sign out everywhere: both tabs signed out after ${Date.now() - everywhereAt} ms`);
    assert.match(await noticeText(pageA), /signed out everywhere/);
    assert.match(await noticeText(pageB), /signed out/i);
    assert.is(await socketConnected(pageA), false);
    assert.is(await socketConnected(pageB), false);
    await until('user offline on both nodes', async () => !(await isUserOnline(nodeA.io, USER.id)) && !(await isUserOnline(nodeB.io, USER.id)), 1000);
    assert.is((await nodeA.manager.readAll(USER.id)).length, 0);

    // Both cookies are dead: a reload lands on the sign-in page.
    await pageA.reload();
    await pageA.waitForSelector('body[data-state="signed-out"]');
    step('everywhere');
  } finally {
    await Promise.allSettled([contextA.close(), contextB.close()]);
  }
}

S('one node, memory storage: revoke another device live, then sign out everywhere', async () => {
  const started = Date.now();
  const node = await startDemo({ port: 0, host: '127.0.0.1', log: false });
  try {
    assert.is(node.storage, 'memory');
    await scenario(node, node, 'memory');
  } finally {
    await node.close();
  }
  console.log(`  [memory] scenario took ${Date.now() - started} ms`);
});

S('silent refresh renews the token and the socket in band; two tabs sharing one cookie stay signed in', async () => {
  // A 6-second access token: the page renews it every second or so.
  const node = await startDemo({ port: 0, host: '127.0.0.1', log: false, accessTokenTtl: 6 });
  const context = await browser!.newContext();
  try {
    const first = await openPage(context, node.url);
    await signIn(first);
    // The second tab has no token of its own: it recovers the session from the shared cookie.
    const second = await context.newPage();
    await second.goto(node.url);
    await second.waitForSelector('body[data-state="signed-in"]');
    await second.waitForSelector('#socket-status[data-connected="true"]');
    const sessionId = await sessionIdOf(first);
    assert.is(await sessionIdOf(second), sessionId);
    const [socket] = await node.io.in(`session:${sessionId}`).fetchSockets();
    const initialExpiry = (socket!.data as { auth: { expiresAt: number } }).auth.expiresAt;

    // Both tabs rotate the one cookie on their own schedule, and once more at the very same moment.
    const refreshes = async (page: Page): Promise<number> => Number(await page.textContent('#refresh-count'));
    await until('two silent refreshes in each tab', async () => (await refreshes(first)) >= 2 && (await refreshes(second)) >= 2, 6000);
    await Promise.all([first.click('#refresh-now'), second.click('#refresh-now')]);
    const counts = [await refreshes(first), await refreshes(second)];
    await until('one more silent refresh in each tab', async () => (await refreshes(first)) > counts[0]! && (await refreshes(second)) > counts[1]!, 4000);

    for (const page of [first, second]) {
      assert.is(await page.getAttribute('body', 'data-state'), 'signed-in');
      assert.is(await socketConnected(page), true);
    }
    // The same sockets were renewed in band (session:renew), not reconnected.
    const [renewed] = await node.io.in(`session:${sessionId}`).fetchSockets();
    assert.is(renewed!.id, socket!.id);
    assert.ok((renewed!.data as { auth: { expiresAt: number } }).auth.expiresAt > initialExpiry, 'socket expiry was not renewed');
    assert.is((await node.manager.readAll(USER.id)).length, 1);
  } finally {
    await context.close().catch(() => undefined);
    await node.close();
  }
});

S('two nodes sharing one Redis: the same scenario, one browser context on each node', async () => {
  // redis-server is a prerequisite of the test suite (README; .ci/run installs it): its absence is a failure, not a skip.
  assert.is(spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status, 0, 'redis-server is not installed');
  const started = Date.now();
  const redis = await startRedis();
  const nodes: DemoNode[] = [];
  try {
    nodes.push(await startDemo({ port: 0, host: '127.0.0.1', redisUrl: redis.url, log: false }));
    nodes.push(await startDemo({ port: 0, host: '127.0.0.1', redisUrl: redis.url, log: false }));
    const [nodeA, nodeB] = nodes as [DemoNode, DemoNode];
    assert.is(nodeA.storage, 'redis');
    assert.is.not(nodeA.port, nodeB.port);
    await scenario(nodeA, nodeB, 'redis');
  } finally {
    await Promise.allSettled(nodes.map((node) => node.close()));
    await redis.stop();
  }
  console.log(`  [redis] scenario took ${Date.now() - started} ms`);
});

S.run();

// DPoP in a real browser: Debian's chromium driven by playwright-core, the
// client's own bundle on a page, and a deployment of two nodes (A, B) behind
// one public origin: @jwt-session/http's endpoints with `dpop` on, API routes
// checking bound requests with checkBoundRequest, one session store, server
// nonces from one secret, and one replay cache in a real Redis. Node C is B
// without the shared replay cache (its own, in memory): the control that
// shows what the Redis cache refuses is a proof that is otherwise valid.
import { freePort, startRedis, type RedisServer } from '@jwt-session/redis-harness';
import { DpopNonces } from '@jwt-session/session-core';
import { MemoryDpopReplayCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisDpopReplayCache } from '@jwt-session/storage-redis';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, SignJWT, type JWK } from 'jose';
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const S = suite('DPoP in Chromium');
let browser: Browser;
let redis: RedisServer;
const clients: Redis[] = [];
let a: TestServer;
let b: TestServer;
let c: TestServer;
const contexts: BrowserContext[] = [];

/** The page: the bundle imported as a module, a client on window, and a look into IndexedDB as a test would take it. */
const HTML = `<!doctype html><title>dpop</title><script type="module">
import { SessionClient } from '/client.js';
window.SessionClient = SessionClient;
window.client = new SessionClient({ baseUrl: '/auth' });
window.storedKey = () => new Promise((resolve, reject) => {
  const open = indexedDB.open('jwt-session-dpop', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('keys');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('keys').objectStore('keys').get('jwt-session');
    get.onsuccess = () => { open.result.close(); resolve(get.result); };
  };
});
window.ready = true;
</script>`;

S.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const bundle = await build({ entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  redis = await startRedis();
  const replay = () => {
    const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: false });
    clients.push(client);
    return new RedisDpopReplayCache(client);
  };
  const port = await freePort();
  const publicOrigin = `http://127.0.0.1:${port}`;
  const refreshTokenStore = new MemoryRefreshTokenStore();
  const nonces = () => new DpopNonces({ secret: 'the deployment nonce secret, 32+ bytes' });
  const node = { refreshTokenStore, publicOrigin, refreshTokenTtl: 3600 };
  a = await startTestServer({ ...node, port, dpop: { replayCache: replay(), nonces: nonces() }, page: { html: HTML, script: Buffer.from(bundle.outputFiles[0]!.contents) } });
  b = await startTestServer({ ...node, dpop: { replayCache: replay(), nonces: nonces() } });
  c = await startTestServer({ ...node, dpop: { replayCache: new MemoryDpopReplayCache(), nonces: nonces() } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
});

S.after.each(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

S.after(async () => {
  await browser?.close();
  for (const server of [a, b, c]) await server?.close();
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

async function tab(context?: BrowserContext): Promise<Page> {
  if (context === undefined) {
    context = await browser.newContext();
    contexts.push(context);
  }
  const page = await context.newPage();
  await page.goto(a.url);
  await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
  return page;
}

type Win = { ready?: boolean; client: import('../src/index.js').SessionClient; storedKey(): Promise<{ k: webcrypto.CryptoKey; h: string } | undefined> };

const signIn = (page: Page, username: string) => page.evaluate((args) => (globalThis as unknown as Win).client.signIn(args), { username, password: PASSWORD });
const meStatus = (page: Page) => page.evaluate(async () => (await (globalThis as unknown as Win).client.fetch('/api/me')).status);
const tokenOf = (page: Page) => page.evaluate(() => (globalThis as unknown as Win).client.token());
const jktOf = (token: string) => (decodeJwt(token).cnf as { jkt: string }).jkt;
const proofJkt = async (proof: string) => calculateJwkThumbprint(decodeProtectedHeader(proof).jwk!, 'sha256');

S('two tabs share one key, kept in IndexedDB and not extractable; each tab signs its own proofs with it', async () => {
  const first = await tab();
  const second = await tab(first.context());
  await signIn(first, 'amy');
  await second.waitForFunction(() => (globalThis as unknown as Win).client.session !== null);
  const token = await tokenOf(first);
  const from = a.seen.length;
  assert.is(await meStatus(first), 200);
  assert.is(await meStatus(second), 200);
  // The second tab had no nonce yet: its call was challenged once and sent again.
  const proofs = a.seen.slice(from).map((s) => s.dpop!);
  assert.is(proofs.length, 3);
  for (const proof of proofs) assert.is(await proofJkt(proof), jktOf(token));
  // The stored key: a private ECDSA webcrypto.CryptoKey that WebCrypto refuses to export in any format.
  const stored = await second.evaluate(async () => {
    const { k } = (await (globalThis as unknown as Win).storedKey())!;
    const exports = await Promise.all(['jwk', 'pkcs8'].map((format) => crypto.subtle.exportKey(format as 'jwk', k).then(() => 'exported', (e: Error) => e.name)));
    return { type: k.type, extractable: k.extractable, algorithm: k.algorithm as { name: string; namedCurve: string }, usages: k.usages, exports };
  });
  assert.equal(stored, { type: 'private', extractable: false, algorithm: { name: 'ECDSA', namedCurve: 'P-256' }, usages: ['sign'], exports: ['InvalidAccessError', 'InvalidAccessError'] });
});

S('a reload keeps the session: the refresh after it is signed with the stored key; the nonce is learnt again once', async () => {
  const page = await tab();
  await signIn(page, 'ben');
  const jkt = jktOf(await tokenOf(page));
  // tsx compiles the evaluated function with esbuild's keepNames: its __name helper, on the page.
  await page.context().addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.reload();
  await page.waitForFunction(() => (globalThis as unknown as Win).ready === true);
  const from = a.seen.length;
  const challenged = a.challenges.length;
  assert.is(await page.evaluate(() => (globalThis as unknown as Win).client.restore()), true);
  assert.is(jktOf(await tokenOf(page)), jkt, 'the same binding');
  assert.is(await meStatus(page), 200);
  await page.evaluate(() => (globalThis as unknown as Win).client.refresh());
  assert.is(await meStatus(page), 200);
  // The new page had no nonce: its first refresh was challenged, retried with it, and nothing after.
  assert.equal(a.challenges.slice(challenged), [{ route: 'POST /auth/refresh', error: 'use_dpop_nonce' }]);
  assert.equal(
    a.seen.slice(from).map((s) => s.route),
    ['POST /auth/refresh', 'POST /auth/refresh', 'GET /api/me', 'POST /auth/refresh', 'GET /api/me'],
  );
});

S('the nonce flow at sign-in: one use_dpop_nonce challenge, retried with the nonce; later calls carry it from the start', async () => {
  const page = await tab();
  const challenged = a.challenges.length;
  const from = a.seen.length;
  await signIn(page, 'cleo');
  assert.is(await meStatus(page), 200);
  await page.evaluate(() => (globalThis as unknown as Win).client.refresh());
  assert.equal(a.challenges.slice(challenged), [{ route: 'POST /auth/sign-in', error: 'use_dpop_nonce' }]);
  const nonces = a.seen.slice(from).map((s) => decodeJwt(s.dpop!).nonce);
  assert.is(nonces[0], undefined);
  assert.type(nonces[1], 'string');
  assert.equal(nonces.slice(1), [nonces[1], nonces[1], nonces[1]]);
});

S('the access token and the refresh cookie copied into another browser context, without the key, are refused; the owner carries on', async () => {
  const owner = await tab();
  await signIn(owner, 'dan');
  const token = await tokenOf(owner);
  const cookies = await owner.context().cookies();
  assert.is(cookies.length, 1);
  const thief = await tab();
  await thief.context().addCookies(cookies);
  const outcome = await thief.evaluate(async (stolen) => {
    const w = globalThis as unknown as Win & { SessionClient: typeof import('../src/index.js').SessionClient };
    const restore = await new w.SessionClient({ baseUrl: '/auth' }).restore().then(
      () => 'restored',
      (e: { code: string }) => e.code,
    );
    // (No named function in here: the test's transpiler would wrap it in a helper the page does not have.)
    const [dpop, bearer] = await Promise.all([`DPoP ${stolen}`, `Bearer ${stolen}`].map(async (authorization) => (await fetch('/api/me', { headers: { authorization } })).json()));
    return { dpop: dpop as { error?: string }, bearer: bearer as { error?: string }, restore };
  }, token);
  assert.is(outcome.dpop.error, 'ERR_DPOP_BINDING_MISMATCH');
  assert.is(outcome.bearer.error, 'ERR_DPOP_BINDING_MISMATCH');
  assert.is(outcome.restore, 'ERR_DPOP_BINDING_MISMATCH');

  // The thief's own key (jose, outside any browser): a valid proof, by the wrong key.
  const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
  const jwk = (await crypto.subtle.exportKey('jwk', publicKey)) as JWK;
  const proof = async (nonce?: string) =>
    new SignJWT({ htm: 'POST', htu: `${a.url}/auth/refresh`, jti: crypto.randomUUID(), ...(nonce === undefined ? {} : { nonce }) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! } })
      .setIssuedAt()
      .sign(privateKey);
  const cookie = `${cookies[0]!.name}=${cookies[0]!.value}`;
  const refresh = async (nonce?: string) => fetch(`${a.url}/auth/refresh`, { method: 'POST', headers: { cookie, 'x-jwt-session': '1', dpop: await proof(nonce) } });
  const challenge = await refresh();
  assert.is(challenge.status, 401);
  const withNonce = await refresh(challenge.headers.get('dpop-nonce')!);
  assert.is(withNonce.status, 401);
  assert.is(((await withNonce.json()) as { error: string }).error, 'ERR_DPOP_BINDING_MISMATCH');

  // The cookie was kept and nothing was rotated: the owner's tab refreshes and calls on.
  await owner.evaluate(() => (globalThis as unknown as Win).client.refresh());
  assert.is(await meStatus(owner), 200);
});

S('the control: an unbound session (dpop: false) copied the same way works for the thief', async () => {
  const owner = await tab();
  await owner.evaluate((password) => {
    const w = globalThis as unknown as Win & { SessionClient: typeof import('../src/index.js').SessionClient };
    w.client.close();
    w.client = new w.SessionClient({ baseUrl: '/auth', dpop: false });
    return w.client.signIn({ username: 'eli', password });
  }, PASSWORD);
  const token = await tokenOf(owner);
  assert.is(decodeJwt(token).cnf, undefined);
  const thief = await tab();
  await thief.context().addCookies(await owner.context().cookies());
  const outcome = await thief.evaluate(async (stolen) => {
    const w = globalThis as unknown as Win;
    return { bearer: (await fetch('/api/me', { headers: { authorization: `Bearer ${stolen}` } })).status, restore: await w.client.restore() };
  }, token);
  assert.equal(outcome, { bearer: 200, restore: true });
});

S('a proof replayed to the other node is refused there (one replay cache in Redis); a node with its own cache would take it', async () => {
  const page = await tab();
  await signIn(page, 'fay');
  const from = a.seen.length;
  assert.is(await meStatus(page), 200);
  const { authorization, dpop } = a.seen[from]!;
  const replay = (node: TestServer) => fetch(`${node.url}/api/me`, { headers: { authorization: authorization!, dpop: dpop! } });
  const onB = await replay(b);
  assert.is(onB.status, 401);
  assert.equal(await onB.json(), { error: 'ERR_DPOP_PROOF_INVALID', reason: 'replayed', message: 'The access token was refused.' });
  assert.match(onB.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_dpop_proof"/);
  // The same bytes on node C, whose replay cache is its own: accepted. So B refused the replay, nothing else.
  assert.is((await replay(c)).status, 200);
  // And on A itself, twice is once too many.
  assert.is((await replay(a)).status, 401);
});

S('a failed sign-in leaves the stored key alone: the session of the other tabs still refreshes after a reload', async () => {
  const first = await tab();
  const second = await tab(first.context());
  await signIn(first, 'hal');
  await second.waitForFunction(() => (globalThis as unknown as Win).client.session !== null);
  const failed = await second.evaluate(() => (globalThis as unknown as Win).client.signIn({ username: 'hal', password: 'wrong' }).then(() => 'signed in', (e: { code: string }) => e.code));
  assert.is(failed, 'ERR_BAD_CREDENTIALS');
  await first.reload();
  await first.waitForFunction(() => (globalThis as unknown as Win).ready === true);
  assert.is(await first.evaluate(() => (globalThis as unknown as Win).client.restore()), true);
  assert.is(await meStatus(first), 200);
});

S('sign-out deletes the key from IndexedDB for every tab; the next sign-in makes a new one', async () => {
  const first = await tab();
  const second = await tab(first.context());
  await signIn(first, 'gil');
  const before = jktOf(await tokenOf(first));
  await second.waitForFunction(() => (globalThis as unknown as Win).client.session !== null);
  assert.ok(await first.evaluate(async () => (await (globalThis as unknown as Win).storedKey()) !== undefined));
  // Signed out from the other tab: the broadcast signs the first one out too.
  await second.evaluate(() => (globalThis as unknown as Win).client.signOut());
  await first.waitForFunction(() => (globalThis as unknown as Win).client.session === null);
  // The signing-out tab deleted it before its sign-out resolved.
  assert.is(await first.evaluate(async () => (await (globalThis as unknown as Win).storedKey()) === undefined), true);
  await signIn(first, 'gil');
  assert.is.not(jktOf(await tokenOf(first)), before);
  assert.is(await meStatus(first), 200);
});

S('step-up after a reload: the stored key signs the re-authentication (DPoP, nonce); a wrong password is asked again; the refused request is sent again once and succeeds', async () => {
  const page = await tab();
  await signIn(page, 'ida');
  const jkt = jktOf(await tokenOf(page));
  // tsx compiles the evaluated function with esbuild's keepNames: its __name helper, on the page.
  await page.context().addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.reload();
  await page.waitForFunction(() => (globalThis as unknown as Win).ready === true);
  const from = a.seen.length;
  const result = await page.evaluate(async (password) => {
    const w = globalThis as unknown as Win & { SessionClient: typeof import('../src/index.js').SessionClient };
    const typed = ['wrong', password];
    const errors: string[] = [];
    const challenges: unknown[] = [];
    // The README's prompt: ask, reauthenticate, on a wrong password ask again.
    const client: import('../src/index.js').SessionClient = new w.SessionClient({
      baseUrl: '/auth',
      onStepUp: async () => {
        for (;;) {
          try {
            await client.reauthenticate({ password: typed.shift() });
            return true;
          } catch (error) {
            errors.push((error as { code: string }).code);
          }
        }
      },
    });
    client.on('stepUpRequired', (challenge) => challenges.push(challenge));
    await client.restore();
    const res = await client.fetch('/api/fresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return { status: res.status, body: await res.json(), errors, challenges, claims: client.claims };
  }, PASSWORD);
  assert.is(result.status, 200);
  assert.equal(result.errors, ['ERR_CREDENTIALS_INVALID']);
  assert.equal(result.challenges, [{ maxAge: 300 }]);
  assert.equal((result.claims as { amr: string[] }).amr, ['pwd']);
  assert.is((result.claims as { cnf: { jkt: string } }).cnf.jkt, jkt);
  // Both re-authentications carried a proof by the stored key, for that URL, with the token's hash.
  const reauth = a.seen.slice(from).filter((s) => s.route === 'POST /auth/reauthenticate');
  assert.ok(reauth.length >= 2);
  for (const seen of reauth) {
    assert.ok(seen.authorization!.startsWith('DPoP '));
    assert.is(await proofJkt(seen.dpop!), jkt);
    const claims = decodeJwt(seen.dpop!);
    assert.equal([claims.htm, claims.htu], ['POST', `${a.url}/auth/reauthenticate`]);
    assert.type(claims.ath, 'string');
  }
  // The guarded route: refused once, then served once.
  assert.is(a.seen.slice(from).filter((s) => s.route === 'POST /api/fresh').length, 2);
});

S.run();

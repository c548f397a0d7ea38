// The demo's own HTTP surface without a browser: its sign-in route (with
// throttling, issue 10 item 13), the API guard, the static files and the
// bundled client. The session endpoints themselves are @jwt-session/http's
// and tested there; here only that they are mounted.
import type { IncomingMessage } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';
import { viewOf } from '../demo/chat.js';
import { clientAddress } from '../demo/sign-in.js';
import { SignInThrottle } from '../demo/throttle.js';
import { HashLimiter, HashQueueFull } from '../demo/users.js';
import { io as ioClient } from 'socket.io-client';
import { handProof, makeKey } from '../../packages/socketio-adapter/test/dpop-support.js';

const S = suite('demo http');
let node: DemoNode;

S.before(async () => {
  // trustProxy: each test signs in from its own X-Forwarded-For address, so the per-address throttle does not mix them.
  node = await startDemo({ port: 0, host: '127.0.0.1', log: false, trustProxy: true });
});
S.after(async () => {
  await node.close();
});

const CSRF = { 'x-jwt-session': '1' };
let nextAddress = 1;
const freshAddress = (): string => `203.0.113.${nextAddress++}`;

function call(method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return fetch(`${node.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

function signIn(username: string, password: string, address: string): Promise<Response> {
  return call('POST', '/api/sign-in', { headers: { ...CSRF, 'x-forwarded-for': address }, body: { username, password } });
}

async function errorOf(res: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await res.json()) as { error: string; message: string };
  assert.not.match(body.message, /\n\s+at /, 'a stack trace leaked');
  return { status: res.status, ...body };
}

S('sign-in answers the session body and the refresh cookie of @jwt-session/http; the token works on the API', async () => {
  const res = await signIn('alice', 'wonderland', freshAddress());
  assert.is(res.status, 200);
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, new RegExp(`^jwt-session-demo-${node.port}=[^;]+; Path=/auth; Max-Age=\\d+; HttpOnly; SameSite=Strict`));
  const body = (await res.json()) as { accessToken: string; expiresIn: number; sessionId: string };
  assert.equal(Object.keys(body).sort(), ['accessToken', 'expiresAt', 'expiresIn', 'sessionId']);
  const me = await call('GET', '/api/me', { headers: { authorization: `Bearer ${body.accessToken}` } });
  assert.equal(await me.json(), { user: { id: 'alice', name: 'Alice Martin' }, sessionId: body.sessionId });
  // The endpoints are mounted at /auth: refresh without a cookie is a quiet 204.
  assert.is((await call('POST', '/auth/refresh', { headers: CSRF })).status, 204);
  const sessions = await call('GET', '/auth/sessions', { headers: { authorization: `Bearer ${body.accessToken}` } });
  assert.is(sessions.status, 200);
});

S('bad input: JSON errors with a sentence, never a stack trace; no CSRF header is refused before any hashing', async () => {
  const address = freshAddress();
  const peak = node.users.hashing.peak;
  const noHeader = await errorOf(await call('POST', '/api/sign-in', { body: { username: 'alice', password: 'wonderland' } }));
  assert.equal([noHeader.status, noHeader.error], [403, 'ERR_CSRF']);
  const crossSite = await errorOf(await call('POST', '/api/sign-in', { headers: { ...CSRF, origin: 'https://evil.example' }, body: { username: 'alice', password: 'wonderland' } }));
  assert.equal([crossSite.status, crossSite.error], [403, 'ERR_CSRF']);
  const wrong = await errorOf(await signIn('alice', 'nope', address));
  assert.equal([wrong.status, wrong.error, wrong.message], [401, 'ERR_BAD_CREDENTIALS', 'Wrong user name or password.']);
  const unknown = await errorOf(await signIn('mallory', 'x', address));
  assert.is(unknown.message, 'Wrong user name or password.');
  const malformed = await errorOf(await call('POST', '/api/sign-in', { headers: CSRF, body: '{"username":' }));
  assert.equal([malformed.status, malformed.error], [400, 'ERR_BAD_REQUEST']);
  const notJson = await errorOf(await call('POST', '/api/sign-in', { headers: { ...CSRF, 'content-type': 'text/plain' }, body: 'x' }));
  assert.is(notJson.status, 400);
  const missing = await call('GET', '/api/me');
  assert.is(missing.status, 401);
  const tampered = await call('GET', '/api/me', { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.AAAA' } });
  assert.is(tampered.status, 401);
  assert.match(tampered.headers.get('www-authenticate')!, /invalid_token/);
  assert.is((await errorOf(await call('GET', '/api/nope'))).status, 404);
  assert.ok(peak <= node.users.hashing.max);
});

// Regression (issue 10 item 13): 40 wrong passwords in a row all got 401, and the right one then worked at once.
S('throttling per account: after 5 failures, 429 with Retry-After and no password check, even for the right password', async () => {
  const statuses: number[] = [];
  let retryAfter = '';
  for (let i = 0; i < 8; i++) {
    // A new address each time: this is the account's limit, not the address's.
    const res = await signIn('bob', `guess-${i}`, freshAddress());
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get('retry-after')!;
  }
  assert.equal(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  assert.match(retryAfter, /^[1-9]\d*$/);
  const right = await signIn('bob', 'builder42', freshAddress());
  const refused = await errorOf(right);
  assert.equal([refused.status, refused.error], [429, 'ERR_TOO_MANY_ATTEMPTS']);
  assert.match(refused.message, /Try again in \d+ s/);
  // Another account is not affected.
  assert.is((await signIn('carol', 'c4r0l-demo', freshAddress())).status, 200);
});

// Regression (review of #10): check() ran before the slow password hash and failed() after it, so ~34
// parallel guesses all passed check() before the first failure was recorded. Attempts in flight now count.
S('throttling holds under parallel guesses: at most the 5 free attempts reach the password check, the rest 429', async () => {
  const peakBefore = node.users.hashing.peak;
  const results = await Promise.all(Array.from({ length: 34 }, (_, i) => signIn('parallel-target', `guess-${i}`, freshAddress())));
  const statuses = results.map((r) => r.status);
  const checked = statuses.filter((status) => status !== 429);
  assert.ok(checked.length <= 5, `${checked.length} reached the password check: ${statuses.join()}`);
  assert.ok(checked.length >= 1, statuses.join());
  assert.ok(checked.every((status) => status === 401 || status === 503), statuses.join());
  const refused = results.find((r) => r.status === 429)!;
  assert.equal((await errorOf(refused)).error, 'ERR_TOO_MANY_ATTEMPTS');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.ok(node.users.hashing.peak <= Math.max(peakBefore, node.users.hashing.max));
});

// Regression (review of #10): with TRUST_PROXY=1 the left-most X-Forwarded-For hop was taken, which the
// client writes itself: a fresh made-up address per request escaped the per-address throttle.
S('with a trusted proxy the client address is the right-most X-Forwarded-For hop, and only if it is an IP', () => {
  const req = (forwarded: string | string[] | undefined, peer = '::ffff:10.0.0.9') =>
    ({ headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;
  assert.is(clientAddress(req('1.2.3.4, 198.51.100.7'), true), '198.51.100.7');
  assert.is(clientAddress(req(['1.2.3.4', '2001:db8::1']), true), '2001:db8::1');
  assert.is(clientAddress(req('1.2.3.4, not-an-ip'), true), '10.0.0.9');
  assert.is(clientAddress(req('1.2.3.4,'), true), '10.0.0.9');
  assert.is(clientAddress(req(undefined), true), '10.0.0.9');
  assert.is(clientAddress(req('198.51.100.7'), false), '10.0.0.9', 'the header is ignored without a trusted proxy');
});

S('throttling per address: 20 failures over many accounts block that address only', async () => {
  const address = freshAddress();
  for (let i = 0; i < 20; i++) assert.is((await signIn(`nobody-${i}`, 'x', address)).status, 401);
  // The 21st, whatever the account and password: refused before any check.
  const blocked = await signIn('alice', 'wonderland', address);
  assert.is(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  assert.is((await signIn('alice', 'wonderland', freshAddress())).status, 200);
});

S('a burst of sign-ins never runs more than the bound of scrypt derivations at once', async () => {
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(`burst-${i}`, 'x', freshAddress())));
  assert.ok(results.every((r) => r.status === 401 || r.status === 503), results.map((r) => r.status).join());
  assert.ok(node.users.hashing.peak <= node.users.hashing.max, `peak ${node.users.hashing.peak}`);
});

S('backoff doubles per failure beyond the allowance, expires, and a success clears the account', () => {
  let now = 1_000_000;
  const throttle = new SignInThrottle({ account: { free: 2, baseDelayMs: 1000, maxDelayMs: 4000 }, address: { free: 100, baseDelayMs: 1000, maxDelayMs: 4000 }, clock: () => now });
  throttle.failed('eve', 'ip');
  assert.is(throttle.check('eve', 'ip'), undefined);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    throttle.failed('eve', 'ip');
    delays.push(throttle.check('eve', 'ip')!.retryAfter);
  }
  assert.equal(delays, [1, 2, 4, 4]);
  now += 4001;
  assert.is(throttle.check('eve', 'ip'), undefined);
  throttle.failed('eve', 'ip');
  assert.equal(throttle.check('eve', 'ip'), { scope: 'account', retryAfter: 4 });
  throttle.succeeded('eve', 'ip');
  assert.is(throttle.check('eve', 'ip'), undefined);
  // Forgotten after the quiet period.
  const quiet = new SignInThrottle({ forgetAfterMs: 10, account: { free: 0, baseDelayMs: 5, maxDelayMs: 5 }, clock: () => now });
  quiet.failed('a', '1');
  assert.ok(quiet.check('a', '1') !== undefined);
  now += 20;
  assert.is(quiet.check('a', '1'), undefined);
  // The table is bounded: the entry with the oldest failure goes first.
  const small = new SignInThrottle({ maxEntries: 4, account: { free: 0, baseDelayMs: 60_000, maxDelayMs: 60_000 }, clock: () => now });
  for (const name of ['a', 'b', 'c', 'd']) small.failed(name, 'x');
  assert.is(small.check('a', 'y'), undefined, 'the oldest entry was evicted');
  assert.ok(small.check('b', 'y') !== undefined);
});

// Guards the pending count behind the parallel-guess fix: in-flight attempts use up the free allowance
// until their outcome is recorded, and released() (busy, error) gives the slot back without a failure.
S('throttle: attempts in flight count against the allowance until failed, succeeded or released', () => {
  const now = 5_000_000;
  const throttle = new SignInThrottle({ account: { free: 2, baseDelayMs: 1000, maxDelayMs: 4000 }, clock: () => now });
  assert.is(throttle.check('zed', 'a1'), undefined);
  assert.is(throttle.check('zed', 'a2'), undefined);
  assert.equal(throttle.check('zed', 'a3'), { scope: 'account', retryAfter: 1 }, 'two in flight use up free: 2');
  throttle.released('zed', 'a1');
  assert.is(throttle.check('zed', 'a3'), undefined, 'a released attempt gives its slot back');
  throttle.failed('zed', 'a2');
  throttle.succeeded('zed', 'a3');
  assert.is(throttle.check('zed', 'a4'), undefined, 'the success cleared the account');
  throttle.failed('zed', 'a4');
  throttle.failed('zed', 'a5');
  assert.equal(throttle.check('zed', 'a6'), { scope: 'account', retryAfter: 1 }, 'blocked after the allowance');
});

S('HashLimiter: at most `max` at once, a bounded queue, then ERR_BUSY', async () => {
  const limiter = new HashLimiter(2, 3);
  let running = 0;
  let peak = 0;
  const release: (() => void)[] = [];
  const task = () =>
    limiter.run(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running -= 1;
    });
  const tasks = Array.from({ length: 5 }, task);
  try {
    await task();
    assert.unreachable('the sixth should be refused');
  } catch (error) {
    assert.instance(error, HashQueueFull);
    assert.is((error as HashQueueFull).code, 'ERR_BUSY');
  }
  while (release.length > 0 || running > 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    release.shift()?.();
  }
  await Promise.all(tasks);
  assert.is(peak, 2);
  assert.is(limiter.peak, 2);
});

S('DPoP: a sign-in with a proof binds the session; /api/me and the chat socket then need a proof by that key, a copied token is refused; unbound sessions still work', async () => {
  const key = makeKey();
  const res = await call('POST', '/api/sign-in', {
    headers: { ...CSRF, 'x-forwarded-for': freshAddress(), dpop: handProof(key, { htm: 'POST', htu: `${node.url}/api/sign-in` }) },
    body: { username: 'alice', password: 'wonderland' },
  });
  assert.is(res.status, 200);
  const { accessToken } = (await res.json()) as { accessToken: string };
  assert.equal((await node.manager.read(accessToken)).cnf, { jkt: key.jkt });
  const me = `${node.url}/api/me`;
  const ok = await call('GET', '/api/me', { headers: { authorization: `DPoP ${accessToken}`, dpop: handProof(key, { htm: 'GET', htu: me, accessToken }) } });
  assert.is(ok.status, 200);
  // The "copy my access token" case: the same token with curl, as Bearer or without a proof by the key.
  const copied = await call('GET', '/api/me', { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal([copied.status, copied.headers.get('www-authenticate')], [401, 'DPoP error="invalid_dpop_proof", algs="ES256"']);
  const otherKey = await call('GET', '/api/me', { headers: { authorization: `DPoP ${accessToken}`, dpop: handProof(makeKey(), { htm: 'GET', htu: me, accessToken }) } });
  assert.is(otherKey.status, 401);

  const connect = (auth: Record<string, unknown>) =>
    new Promise<{ code?: string; close(): void }>((resolve) => {
      const socket = ioClient(node.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
      const close = () => socket.disconnect();
      socket.once('connect', () => resolve({ close }));
      socket.once('connect_error', (error: Error & { data?: { code: string } }) => resolve({ code: error.data?.code ?? 'none', close }));
    });
  const refused = await connect({ token: accessToken });
  refused.close();
  assert.is(refused.code, 'ERR_DPOP_BINDING_MISMATCH');
  const chat = await connect({ token: accessToken, dpop: handProof(key, { htm: 'GET', htu: `${node.url}/socket.io/`, accessToken }) });
  chat.close();
  assert.is(chat.code, undefined);

  // A browser without a key (or an old client) signs in unbound, and Bearer keeps working.
  const plain = (await (await signIn('bob', 'builder42', freshAddress())).json()) as { accessToken: string };
  assert.is((await call('GET', '/api/me', { headers: { authorization: `Bearer ${plain.accessToken}` } })).status, 200);
});

S('chat: "mine" is the sender session, not the user', () => {
  const message = { id: '1', userId: 'alice', sessionId: 'S1', name: 'Alice', text: 'hi', at: 0 };
  assert.equal(viewOf(message, 'S1'), { id: '1', userId: 'alice', name: 'Alice', text: 'hi', at: 0, mine: true });
  assert.is(viewOf(message, 'S2').mine, false);
  assert.not.ok('sessionId' in viewOf(message, 'S2'), 'session ids stay on the server');
});

S('the page, its module and the bundled client are served with a strict CSP; no path reaches the file system', async () => {
  const page = await call('GET', '/');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.match(await page.text(), /<script type="module" src="\/app.js">/);
  const client = await call('GET', '/client.js');
  assert.is(client.status, 200);
  assert.match(client.headers.get('content-type')!, /text\/javascript/);
  assert.match(await client.text(), /export\s*\{/);
  assert.is((await call('GET', '/../package.json')).status, 404);
  assert.is((await call('GET', '/%2e%2e/server.ts')).status, 404);
  assert.is((await call('GET', '/socket.io/socket.io.min.js')).status, 200);
});

// Issue 13: METRICS=1 exposes the library's OpenTelemetry metrics for Prometheus; without it there is no such route.
S('METRICS=1 serves the manager\'s and the guard\'s metrics at /metrics in the Prometheus format', async () => {
  assert.is((await call('GET', '/metrics')).status, 404);
  const metered = await startDemo({ port: 0, host: '127.0.0.1', log: false, metrics: true });
  try {
    const res = await fetch(`${metered.url}/api/sign-in`, {
      method: 'POST',
      headers: { ...CSRF, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'wonderland' }),
    });
    const { accessToken } = (await res.json()) as { accessToken: string };
    for (let n = 0; n < 3; n++) assert.is((await fetch(`${metered.url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status, 200);
    const page = await fetch(`${metered.url}/metrics`);
    assert.is(page.status, 200);
    assert.match(page.headers.get('content-type')!, /text\/plain/);
    const text = await page.text();
    assert.match(text, /^jwt_session_sessions_created_total(\{[^}]*\})? 1$/m);
    assert.match(text, /^jwt_session_reads_total\{[^}]*outcome="verified"[^}]*\} \d+$/m);
    assert.match(text, /^jwt_session_store_duration_count\{[^}]*operation="insert"[^}]*\} 1$/m);
    assert.match(text, /^jwt_session_guard_sockets(\{[^}]*\})? 0$/m);
    assert.not.ok(text.includes(accessToken.split('.')[2]!), 'no token in the metrics');
    assert.not.ok(text.includes('alice'), 'no subject in the metrics');
  } finally {
    await metered.close();
  }
});

S('the sensitive action: a stale session gets the RFC 9470 challenge; POST /auth/reauthenticate wants the CSRF header, refuses a wrong password (nothing rotated), and the right one makes the same session fresh', async () => {
  const stale = await startDemo({ port: 0, host: '127.0.0.1', log: false, trustProxy: true, freshMaxAge: 1 });
  try {
    const address = freshAddress();
    const post = (path: string, headers: Record<string, string>, body: unknown) =>
      fetch(`${stale.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': address, ...headers }, body: JSON.stringify(body) });
    const signedIn = await post('/api/sign-in', CSRF, { username: 'bob', password: 'builder42' });
    assert.is(signedIn.status, 200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const { accessToken, sessionId } = (await signedIn.json()) as { accessToken: string; sessionId: string };
    const bearer = { authorization: `Bearer ${accessToken}` };
    await new Promise((resolve) => setTimeout(resolve, 2100));

    const refused = await post('/api/account/email', bearer, { email: 'bob@example.com' });
    assert.is(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer error="insufficient_user_authentication".*max_age="1"/);
    assert.equal((await errorOf(refused)).error, 'ERR_AUTH_NOT_FRESH');

    const noCsrf = await post('/auth/reauthenticate', { ...bearer, cookie }, { password: 'builder42' });
    assert.equal([noCsrf.status, (await errorOf(noCsrf)).error], [403, 'ERR_CSRF']);
    const wrong = await post('/auth/reauthenticate', { ...CSRF, ...bearer, cookie }, { password: 'nope' });
    assert.equal([wrong.status, (await errorOf(wrong)).error], [401, 'ERR_CREDENTIALS_INVALID']);
    assert.is(wrong.headers.get('set-cookie'), null);

    const right = await post('/auth/reauthenticate', { ...CSRF, ...bearer, cookie }, { password: 'builder42' });
    assert.is(right.status, 200);
    const fresh = (await right.json()) as { accessToken: string; sessionId: string };
    assert.is(fresh.sessionId, sessionId);
    const changed = await post('/api/account/email', { authorization: `Bearer ${fresh.accessToken}` }, { email: 'bob@example.com' });
    assert.equal([changed.status, await changed.json()], [200, { email: 'bob@example.com' }]);
    const bad = await post('/api/account/email', { authorization: `Bearer ${fresh.accessToken}` }, { email: 'not an address' });
    assert.equal([bad.status, (await errorOf(bad)).error], [400, 'ERR_BAD_REQUEST']);
    assert.equal((await stale.manager.readAll('bob')).find((s) => s.sessionId === sessionId)?.amr, ['pwd']);
  } finally {
    await stale.close();
  }
});

S.run();

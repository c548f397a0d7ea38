// The demo's HTTP API without a browser: cookie attributes, CSRF refusals and
// the error answers a page shows (never a stack trace).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';
import { describeDevice } from '../demo/user-agent.js';

const S = suite('demo http');
let node: DemoNode;

S.before(async () => {
  node = await startDemo({ port: 0, host: '127.0.0.1', log: false });
});
S.after(async () => {
  await node.close();
});

const CSRF = { 'x-demo-csrf': '1' };

function call(method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return fetch(`${node.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function signIn(headers: Record<string, string> = {}): Promise<{ res: Response; body: Record<string, unknown>; cookie: string }> {
  const res = await call('POST', '/api/auth/sign-in', { headers: { ...CSRF, ...headers }, body: { username: 'alice', password: 'wonderland' } });
  const body = (await res.json()) as Record<string, unknown>;
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, body, cookie: setCookie.split(';')[0]! };
}

async function errorOf(res: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await res.json()) as { error: string; message: string };
  assert.not.match(body.message, /\n\s+at /, 'a stack trace leaked');
  return { status: res.status, ...body };
}

S('sign-in sets the refresh cookie HttpOnly, SameSite=Strict, scoped to the refresh path; the access token is in the body only', async () => {
  const { res, body } = await signIn();
  assert.is(res.status, 201);
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, /^demo_refresh=[^;]+; Path=\/api\/auth\/refresh; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
  assert.type(body.accessToken, 'string');
  assert.not.ok(cookie.includes(body.accessToken as string));
  assert.equal(body.user, { id: 'alice', name: 'Alice Martin' });
  assert.is(res.headers.get('cache-control'), 'no-store');
});

S('behind https (X-Forwarded-Proto) the cookie is Secure', async () => {
  const { res } = await signIn({ 'x-forwarded-proto': 'https', origin: `https://${new URL(node.url).host}` });
  assert.is(res.status, 201);
  assert.match(res.headers.get('set-cookie')!, /; Secure$/);
});

S('CSRF: refresh and sign-out need the custom header, a same-origin Origin and Sec-Fetch-Site', async () => {
  const { cookie } = await signIn();
  const refused = [
    await call('POST', '/api/auth/refresh', { headers: { cookie } }),
    await call('POST', '/api/auth/refresh', { headers: { cookie, ...CSRF, origin: 'https://evil.example' } }),
    await call('POST', '/api/auth/refresh', { headers: { cookie, ...CSRF, 'sec-fetch-site': 'cross-site' } }),
    await call('DELETE', '/api/auth/refresh', { headers: { cookie } }),
    await call('POST', '/api/auth/sign-in', { body: { username: 'alice', password: 'wonderland' } }),
  ];
  for (const res of refused) {
    const e = await errorOf(res);
    assert.is(e.status, 403);
    assert.is(e.error, 'ERR_CSRF');
  }
  // The session survived all of that: the cookie still refreshes, from the page's own origin.
  const ok = await call('POST', '/api/auth/refresh', { headers: { cookie, ...CSRF, origin: node.url, 'sec-fetch-site': 'same-origin' } });
  assert.is(ok.status, 200);
});

S('refresh rotates the cookie; a replayed old cookie (after the reuse interval) or an altered one is refused with a message and cleared', async () => {
  const { cookie } = await signIn();
  const first = await call('POST', '/api/auth/refresh', { headers: { cookie, ...CSRF } });
  assert.is(first.status, 200);
  const rotated = first.headers.get('set-cookie')!.split(';')[0]!;
  assert.is.not(rotated, cookie);

  const altered = `${rotated.slice(0, -2)}${rotated.at(-2) === 'A' ? 'B' : 'A'}${rotated.at(-1)}`;
  const bad = await call('POST', '/api/auth/refresh', { headers: { cookie: altered, ...CSRF } });
  const e = await errorOf(bad);
  assert.is(e.status, 401);
  assert.is(e.error, 'ERR_REFRESH_TOKEN_INVALID');
  assert.match(e.message, /Please sign in again/);
  assert.match(bad.headers.get('set-cookie')!, /^demo_refresh=; .*Max-Age=0/);

  const none = await errorOf(await call('POST', '/api/auth/refresh', { headers: CSRF }));
  assert.equal([none.status, none.error], [401, 'ERR_NOT_SIGNED_IN']);
});

S('bad input gets a JSON error with a sentence, never a stack trace', async () => {
  const wrong = await errorOf(await call('POST', '/api/auth/sign-in', { headers: CSRF, body: { username: 'alice', password: 'nope' } }));
  assert.equal([wrong.status, wrong.error, wrong.message], [401, 'ERR_BAD_CREDENTIALS', 'Wrong user name or password.']);
  const unknown = await errorOf(await call('POST', '/api/auth/sign-in', { headers: CSRF, body: { username: 'mallory', password: 'x' } }));
  assert.is(unknown.message, 'Wrong user name or password.');
  const malformed = await errorOf(await call('POST', '/api/auth/sign-in', { headers: CSRF, body: '{"username":' }));
  assert.equal([malformed.status, malformed.error], [400, 'ERR_BAD_REQUEST']);
  const notJson = await errorOf(await call('POST', '/api/auth/sign-in', { headers: { ...CSRF, 'content-type': 'text/plain' }, body: 'x' }));
  assert.is(notJson.status, 415);
  const tampered = await errorOf(await call('GET', '/api/sessions', { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.AAAA' } }));
  assert.equal([tampered.status, tampered.error], [401, 'ERR_AUTH_TOKEN_INVALID']);
  const missing = await call('GET', '/api/sessions');
  assert.is(missing.status, 401);
  assert.is(missing.headers.get('www-authenticate'), 'Bearer');
  assert.is((await errorOf(await call('GET', '/api/nope'))).status, 404);
  assert.is((await errorOf(await call('PUT', '/api/sessions'))).status, 405);
});

S('sessions: list with this device, revoke one, sign out everywhere; revoked tokens stop working at once', async () => {
  const a = await signIn({ 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' });
  const b = await signIn();
  const bearer = (s: { body: Record<string, unknown> }) => ({ authorization: `Bearer ${s.body.accessToken as string}` });
  const list = (await (await call('GET', '/api/sessions', { headers: bearer(a) })).json()) as { sessions: { sessionId: string; current: boolean; device: string; ip: string }[] };
  const mine = list.sessions.find((s) => s.sessionId === a.body.sessionId)!;
  assert.is(list.sessions[0], mine, 'this device first');
  assert.equal([mine.current, mine.device, mine.ip], [true, 'Firefox 133 on Linux', '127.0.0.1']);

  const revoked = await call('DELETE', `/api/sessions/${b.body.sessionId as string}`, { headers: { ...CSRF, ...bearer(a) } });
  assert.is(revoked.status, 200);
  assert.equal((await errorOf(await call('GET', '/api/sessions', { headers: bearer(b) }))).error, 'ERR_SESSION_REVOKED');
  assert.is((await errorOf(await call('DELETE', `/api/sessions/${b.body.sessionId as string}`, { headers: { ...CSRF, ...bearer(a) } }))).status, 404);

  const everywhere = await call('POST', '/api/sessions/sign-out-everywhere', { headers: { ...CSRF, ...bearer(a) } });
  assert.is(everywhere.status, 200);
  assert.equal((await errorOf(await call('GET', '/api/sessions', { headers: bearer(a) }))).error, 'ERR_SESSION_REVOKED');
  assert.equal((await errorOf(await call('POST', '/api/auth/refresh', { headers: { cookie: a.cookie, ...CSRF } }))).error, 'ERR_REFRESH_TOKEN_INVALID');
});

S('sign-out with only the cookie (the access token lost) still ends the session', async () => {
  const { cookie } = await signIn();
  const res = await call('DELETE', '/api/auth/refresh', { headers: { cookie, ...CSRF } });
  assert.is(res.status, 200);
  assert.match(res.headers.get('set-cookie')!, /Max-Age=0/);
  assert.is((await errorOf(await call('POST', '/api/auth/refresh', { headers: { cookie, ...CSRF } }))).status, 401);
});

S('pages are served with a strict CSP; no path reaches the file system', async () => {
  const page = await call('GET', '/');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.is(page.headers.get('x-frame-options'), 'DENY');
  assert.is((await call('GET', '/../package.json')).status, 404);
  assert.is((await call('GET', '/%2e%2e/server.ts')).status, 404);
  assert.is((await call('GET', '/socket.io/socket.io.min.js')).status, 200);
});

S('user agents become readable device names', () => {
  assert.is(describeDevice('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0'), 'Edge 131 on Windows');
  assert.is(describeDevice('Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'), 'Safari 18 on iOS');
  assert.is(describeDevice('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'), 'Chrome 131 on Android');
  assert.is(describeDevice(undefined), 'Unknown device');
  assert.is(describeDevice('curl/8.5.0'), 'curl 8');
});

S.run();

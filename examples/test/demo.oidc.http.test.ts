// The demo's OpenID provider sign-in (demo/oidc.ts) over HTTP, against
// `pnpm demo:idp`'s oidc-provider: the flow with a DPoP proof at the login
// (the session bound to its key at the callback), and every way the login and
// the callback refuse what they must (no CSRF header, a bad or replayed
// proof, a provider that is down, an unknown or forged state, a replayed
// callback), each without a session made. The browser's side is
// demo.oidc.browser.test.ts.
import { createServer, type AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';
import { resolveConfig } from '../demo/config.js';
import { startDemoIdp, type DemoIdp } from '../demo/idp.js';
import { handProof, makeKey, type TestKey } from '../../packages/socketio-adapter/test/dpop-support.js';
import { UserAgent } from './support/oidc-idp.js';

interface Ctx {
  idp: DemoIdp;
  node: DemoNode;
}

const S = suite<Ctx>('demo: OpenID provider sign-in over HTTP');
const CSRF = { 'x-jwt-session': '1' };

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

S.before(async (ctx) => {
  const port = await freePort();
  ctx.idp = await startDemoIdp({ port: 0, demoUrls: [`http://127.0.0.1:${port}`] });
  ctx.node = await startDemo({ port, host: '127.0.0.1', log: false, oidc: { issuer: ctx.idp.issuer, clientId: ctx.idp.clientId, clientSecret: ctx.idp.clientSecret } });
});

S.after(async (ctx) => {
  await ctx.node?.close();
  await ctx.idp?.close();
});

/** POST /auth/oidc/login as the page does: the CSRF header and, with a key, a proof by it. */
async function login(ctx: Ctx, ua: UserAgent, key?: TestKey, proof?: string): Promise<Response> {
  const headers: Record<string, string> = { ...CSRF };
  const dpop = proof ?? (key === undefined ? undefined : handProof(key, { htm: 'POST', htu: `${ctx.node.url}/auth/oidc/login` }));
  if (dpop !== undefined) headers.dpop = dpop;
  return ua.request(`${ctx.node.url}/auth/oidc/login`, { method: 'POST', headers });
}

/** At the provider: its login form, alice's password, back to the demo's callback (not followed). */
async function atProvider(ctx: Ctx, ua: UserAgent, url: string): Promise<string> {
  const callback = `${ctx.node.url}/auth/oidc/callback`;
  let { url: at, res } = await ua.follow(url, callback);
  if (!at.startsWith(callback)) {
    const action = new URL(/<form[^>]*action="([^"]+)"/.exec(await res.text())![1]!, at).href;
    ({ url: at, res } = await ua.follow(action, callback, { method: 'POST', form: { login: 'alice', password: 'wonderland' } }));
  }
  assert.ok(at.startsWith(callback), `the provider sent the browser back (at ${at}, HTTP ${res.status})`);
  return at;
}

const sessions = (ctx: Ctx) => ctx.node.manager.readAll('oidc:alice');

async function endAll(ctx: Ctx): Promise<void> {
  await ctx.node.manager.deleteAll('oidc:alice');
}

S('the flow with a proof at the login: the authorization URL (PKCE S256, state, nonce), the callback 303 to / with the cookie, the session bound and linked', async (ctx) => {
  const ua = new UserAgent();
  const key = makeKey();
  const res = await login(ctx, ua, key);
  assert.is(res.status, 200);
  assert.is(res.headers.get('cache-control'), 'no-store');
  const { url } = (await res.json()) as { url: string };
  const auth = new URL(url);
  assert.is(auth.origin, ctx.idp.issuer);
  assert.is(auth.searchParams.get('code_challenge_method'), 'S256');
  for (const name of ['code_challenge', 'state', 'nonce']) assert.ok((auth.searchParams.get(name) ?? '').length >= 43, name);
  assert.is(auth.searchParams.get('redirect_uri'), `${ctx.node.url}/auth/oidc/callback`);
  // What the login began travels sealed: neither the PKCE verifier nor the nonce can be read from the cookie.
  const loginCookie = res.headers.getSetCookie()[0]!;
  assert.match(loginCookie, /; Path=\/auth\/oidc; Max-Age=600; HttpOnly; SameSite=Lax$/);
  assert.not.ok(Buffer.from(loginCookie.split(';')[0]!.split('=')[1]!, 'base64url').toString('latin1').includes(auth.searchParams.get('nonce')!));

  const callback = await atProvider(ctx, ua, url);
  const back = await ua.request(callback);
  assert.is(back.status, 303);
  assert.is(back.headers.get('location'), '/');
  assert.is(await back.text(), '', 'no access token in a navigation');
  const cookies = back.headers.getSetCookie();
  assert.ok(cookies.some((c) => c.startsWith(`jwt-session-demo-${ctx.node.port}=`)), 'the refresh cookie');
  assert.ok(cookies.some((c) => c.startsWith(`jwt-session-demo-${ctx.node.port}-oidc-`) && /Max-Age=0/.test(c)), 'the login cookie cleared');
  const [session, ...more] = await sessions(ctx);
  assert.is(more.length, 0);
  assert.equal(session!.dpop, { jkt: key.jkt }, 'bound to the key the login proved');
  assert.is(session!.upstream?.issuer, ctx.idp.issuer);
  assert.is(session!.upstream?.subject, 'alice');
  assert.type(session!.upstream?.sessionId, 'string');

  // The refresh cookie alone (no proof, or another key's) is refused; with the key, a bound token.
  const refresh = (dpop?: string) => ua.request(`${ctx.node.url}/auth/refresh`, { method: 'POST', headers: { ...CSRF, ...(dpop === undefined ? {} : { dpop }) } });
  assert.is(((await (await refresh()).json()) as { error: string }).error, 'ERR_DPOP_BINDING_MISMATCH');
  const thief = makeKey();
  assert.is(((await (await refresh(handProof(thief, { htm: 'POST', htu: `${ctx.node.url}/auth/refresh` }))).json()) as { error: string }).error, 'ERR_DPOP_BINDING_MISMATCH');
  const ok = await refresh(handProof(key, { htm: 'POST', htu: `${ctx.node.url}/auth/refresh` }));
  assert.is(ok.status, 200);
  const { accessToken, sessionId } = (await ok.json()) as { accessToken: string; sessionId: string };
  assert.is(sessionId, session!.sessionId);
  assert.equal((await ctx.node.manager.read(accessToken)).cnf, { jkt: key.jkt });

  // The same callback again (its code spent, its login cookie gone): refused, no second session.
  const again = await ua.request(callback);
  assert.is(again.status, 303);
  assert.is(again.headers.get('location'), '/?signin=failed');
  assert.is((await sessions(ctx)).length, 1);
  await endAll(ctx);
});

S('without a proof: an unbound session (DPoP is not required by the demo)', async (ctx) => {
  const ua = new UserAgent();
  const { url } = (await (await login(ctx, ua)).json()) as { url: string };
  assert.is((await ua.request(await atProvider(ctx, ua, url))).status, 303);
  const [session] = await sessions(ctx);
  assert.is(session!.dpop, undefined);
  assert.is(session!.upstream?.subject, 'alice');
  await endAll(ctx);
});

S('the login refuses a cross-site request, a bad proof and a replayed one; nothing is begun', async (ctx) => {
  const ua = new UserAgent();
  const csrf = await ua.request(`${ctx.node.url}/auth/oidc/login`, { method: 'POST' });
  assert.is(csrf.status, 403);
  assert.is(((await csrf.json()) as { error: string }).error, 'ERR_CSRF');
  const key = makeKey();
  const bad: Array<[string, string]> = [
    ['not a JWS', 'garbage'],
    ['another URL', handProof(key, { htm: 'POST', htu: `${ctx.node.url}/auth/refresh` })],
    ['another method', handProof(key, { htm: 'GET', htu: `${ctx.node.url}/auth/oidc/login` })],
    ['too old', handProof(key, { htm: 'POST', htu: `${ctx.node.url}/auth/oidc/login`, iat: Math.floor(Date.now() / 1000) - 3600 })],
  ];
  const replayed = handProof(key, { htm: 'POST', htu: `${ctx.node.url}/auth/oidc/login` });
  assert.is((await login(ctx, ua, undefined, replayed)).status, 200);
  bad.push(['replayed', replayed]);
  for (const [what, proof] of bad) {
    const res = await login(ctx, ua, undefined, proof);
    assert.is(res.status, 401, what);
    assert.is(((await res.json()) as { error: string }).error, 'ERR_DPOP_PROOF_INVALID', what);
    assert.match(res.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_dpop_proof"/, what);
    assert.is(res.headers.getSetCookie().length, 0, `${what}: no login cookie`);
  }
});

S('the callback refuses an unknown state, a forged or foreign login cookie, and an error from the provider: 303 to /?signin=failed, no session', async (ctx) => {
  const ua = new UserAgent();
  const { url } = (await (await login(ctx, ua, makeKey())).json()) as { url: string };
  const callback = new URL(await atProvider(ctx, ua, url));
  const state = callback.searchParams.get('state')!;
  const cookieName = `jwt-session-demo-${ctx.node.port}-oidc-${state}`;
  const failed = async (target: string, cookie?: string) => {
    const res = await fetch(target, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
    assert.is(res.status, 303, target);
    assert.is(res.headers.get('location'), '/?signin=failed', target);
  };
  // Another browser (the attacker's code in the victim's browser: login CSRF): no login cookie for that state.
  await failed(callback.href);
  // A forged cookie, and one sealed under another secret (another demo's), under the right name.
  await failed(callback.href, `${cookieName}=${Buffer.from('x'.repeat(80)).toString('base64url')}`);
  const other = await startDemo({ port: 0, host: '127.0.0.1', log: false, secret: 'another-demo-secret-0123456789-abcdefgh', oidc: { issuer: ctx.idp.issuer, clientId: ctx.idp.clientId, clientSecret: ctx.idp.clientSecret } });
  try {
    const foreign = (await fetch(`${other.url}/auth/oidc/login`, { method: 'POST', headers: CSRF })).headers.getSetCookie()[0]!.split(';')[0]!;
    const foreignState = foreign.slice(foreign.indexOf('-oidc-') + 6, foreign.indexOf('='));
    const withForeignState = new URL(callback.href);
    withForeignState.searchParams.set('state', foreignState);
    await failed(withForeignState.href, `${cookieName.replace(state, foreignState)}=${foreign.slice(foreign.indexOf('=') + 1)}`);
  } finally {
    await other.close();
  }
  // A state that is no base64url.
  await failed(`${ctx.node.url}/auth/oidc/callback?state=%3Cscript%3E&code=x`);
  // The provider's error answer (the user cancelled there), in the browser that began the login: refused, its login cookie cleared.
  const cancelling = new UserAgent();
  const cancelled = new URL(((await (await login(ctx, cancelling)).json()) as { url: string }).url).searchParams.get('state')!;
  const answer = await cancelling.request(`${ctx.node.url}/auth/oidc/callback?error=access_denied&state=${cancelled}`);
  assert.is(answer.status, 303);
  assert.is(answer.headers.get('location'), '/?signin=failed');
  assert.ok(answer.headers.getSetCookie().some((c) => c.includes(`-oidc-${cancelled}=;`) && /Max-Age=0/.test(c)), 'the login cookie cleared');
  assert.is((await sessions(ctx)).length, 0, 'no session from any of them');
  // The genuine browser still completes it.
  assert.is((await ua.request(callback.href)).status, 303);
  assert.is((await sessions(ctx)).length, 1);
  await endAll(ctx);
});

S('the pending logins of one browser are bounded: a fourth drops the oldest, whose callback then fails; the newest completes', async (ctx) => {
  const ua = new UserAgent();
  const prefix = `jwt-session-demo-${ctx.node.port}-oidc-`;
  const urls: string[] = [];
  const dropped: string[][] = [];
  for (let i = 0; i < 5; i++) {
    const res = await login(ctx, ua);
    dropped.push(res.headers.getSetCookie().filter((c) => /Max-Age=0/.test(c)).map((c) => c.slice(prefix.length, c.indexOf('='))));
    urls.push(((await res.json()) as { url: string }).url);
  }
  const stateOf = (url: string) => new URL(url).searchParams.get('state')!;
  assert.equal(dropped, [[], [], [], [stateOf(urls[0]!)], [stateOf(urls[1]!)]], 'the oldest, one at a time');
  const oldest = await atProvider(ctx, ua, urls[0]!);
  assert.is((await ua.request(oldest)).headers.get('location'), '/?signin=failed');
  assert.is((await sessions(ctx)).length, 0);
  const newest = await atProvider(ctx, ua, urls[4]!);
  assert.is((await ua.request(newest)).headers.get('location'), '/');
  assert.is((await sessions(ctx)).length, 1);
  await endAll(ctx);
});

S('the back-channel logout and security-event receivers are mounted beside it, and refuse junk with 400', async (ctx) => {
  const logout = await fetch(`${ctx.node.url}/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=garbage' });
  assert.is(logout.status, 400);
  assert.equal(await logout.json(), { error: 'invalid_request' });
  const set = await fetch(`${ctx.node.url}/auth/oidc/security-events`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: 'garbage' });
  assert.is(set.status, 400);
  assert.is(((await set.json()) as { err: string }).err, 'invalid_request');
  const about = (await (await fetch(`${ctx.node.url}/api/about`)).json()) as { oidc: { issuer: string } | null };
  assert.equal(about.oidc, { issuer: ctx.idp.issuer });
  assert.equal(await (await fetch(`${ctx.node.url}/auth/oidc`)).json(), { issuer: ctx.idp.issuer });
});

S('a provider that cannot be reached: 503 ERR_PROVIDER_UNAVAILABLE at the login; without OIDC_*, nothing is mounted', async () => {
  const port = await freePort(); // nothing listens there
  const down = await startDemo({ port: 0, host: '127.0.0.1', log: false, oidc: { issuer: `http://127.0.0.1:${port}`, clientId: 'c', clientSecret: 's' } });
  const plain = await startDemo({ port: 0, host: '127.0.0.1', log: false, oidc: undefined });
  try {
    const res = await fetch(`${down.url}/auth/oidc/login`, { method: 'POST', headers: CSRF });
    assert.is(res.status, 503);
    assert.is(((await res.json()) as { error: string }).error, 'ERR_PROVIDER_UNAVAILABLE');
    assert.is(res.headers.getSetCookie().length, 0);
    for (const [method, path] of [['GET', '/auth/oidc'], ['POST', '/auth/oidc/login'], ['GET', '/auth/oidc/callback'], ['POST', '/auth/oidc/backchannel-logout']] as const) {
      assert.is((await fetch(`${plain.url}${path}`, { method, headers: CSRF })).status, 404, path);
    }
    assert.is(((await (await fetch(`${plain.url}/api/about`)).json()) as { oidc: unknown }).oidc, null);
  } finally {
    await down.close();
    await plain.close();
  }
});

S('configuration: all three OIDC_* or none, and an https issuer (http only on this machine)', () => {
  const env = { OIDC_ISSUER: 'https://keycloak.example/realms/demo', OIDC_CLIENT_ID: 'demo', OIDC_CLIENT_SECRET: 's3cret' };
  assert.equal(resolveConfig({}, env).oidc, { issuer: env.OIDC_ISSUER, clientId: 'demo', clientSecret: 's3cret' });
  assert.is(resolveConfig({}, {}).oidc, undefined);
  assert.throws(() => resolveConfig({}, { OIDC_ISSUER: env.OIDC_ISSUER }), /all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET/);
  assert.throws(() => resolveConfig({}, { ...env, OIDC_ISSUER: 'http://keycloak.example/realms/demo' }), /must be https/);
  assert.throws(() => resolveConfig({}, { ...env, OIDC_ISSUER: 'not a url' }), /must be a URL/);
  assert.is(resolveConfig({}, { ...env, OIDC_ISSUER: 'http://localhost:8080/realms/demo' }).oidc?.issuer, 'http://localhost:8080/realms/demo');
});

S.run();

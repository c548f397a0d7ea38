// DPoP (RFC 9449) from the client against the real endpoints with `dpop` on
// and API routes that check bound requests (checkBoundRequest). Every proof
// the client sends is verified again here by jose, an implementation no one
// here wrote: the shape of §4.2, the key of §6.1, the `ath` of §7.1. Node has
// WebCrypto and no IndexedDB: the key is the tab's, in memory (the browser's
// shared key is test/browser.test.ts's).
import { DpopNonces } from '@jwt-session/session-core';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient } from '../src/index.js';
import { rejects } from './support/assert.js';
import { Profile, until } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('dpop');
let server: TestServer;
let nonced: TestServer;
const cleanup: (() => void)[] = [];

S.before(async () => {
  server = await startTestServer({ dpop: { replayCache: new MemoryDpopReplayCache() }, skew: 7200 });
  nonced = await startTestServer({ dpop: { replayCache: new MemoryDpopReplayCache(), nonces: new DpopNonces({ secret: 'a nonce secret of at least 32 bytes!' }) } });
});
S.after.each(() => {
  for (const step of cleanup.splice(0)) step();
});
S.after(async () => {
  await server.close();
  await nonced.close();
});

function client(on: TestServer = server, options: { dpop?: boolean } = {}) {
  const profile = new Profile();
  const c = new SessionClient({ baseUrl: `${on.url}/auth`, fetch: profile.fetch, channel: `dpop-${randomUUID()}`, ...options });
  cleanup.push(() => c.close());
  return { client: c, profile };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** jose's verdict on a proof, and the §4.2 shape asserted member by member. */
async function verified(proof: string, htm: string, htu: string) {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  assert.is(protectedHeader.alg, 'ES256');
  // The public key and only its required members: no `d`, no `ext`, no `key_ops`.
  assert.equal(Object.keys(protectedHeader.jwk!).sort(), ['crv', 'kty', 'x', 'y']);
  assert.equal([protectedHeader.jwk!.kty, protectedHeader.jwk!.crv], ['EC', 'P-256']);
  assert.is(payload.htm, htm);
  assert.is(payload.htu, htu);
  assert.type(payload.jti, 'string');
  assert.ok((payload.jti as string).length >= 16);
  assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 5, 'iat is now');
  return { payload, jkt: await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256') };
}

S('every call carries a fresh proof that jose verifies: sign-in, refresh, resource requests (ath, DPoP scheme, htu without query or fragment), sign-out', async () => {
  const { client: c } = client();
  const from = server.seen.length;
  await c.signIn({ username: 'dana', password: PASSWORD });
  const token = await c.token();
  const cnf = (decodeJwt(token).cnf as { jkt: string }).jkt;
  assert.type(cnf, 'string', 'the session is bound');
  await c.refresh();
  const renewed = await c.token();
  assert.is.not(renewed, token);
  const me = await c.fetch(`${server.url}/api/me?page=2#top`);
  assert.is(me.status, 200);
  assert.is(((await me.json()) as { auth: string }).auth, `DPoP ${renewed}`);
  assert.is((await c.fetch(`${server.url}/api/me`, { method: 'get' })).status, 200);
  await c.signOut();

  const seen = server.seen.slice(from);
  assert.equal(
    seen.map((s) => s.route),
    ['POST /auth/sign-in', 'POST /auth/refresh', 'GET /api/me', 'GET /api/me', 'POST /auth/signout'],
  );
  const expected: [string, string, string | undefined][] = [
    ['POST', `${server.url}/auth/sign-in`, undefined],
    ['POST', `${server.url}/auth/refresh`, undefined],
    ['GET', `${server.url}/api/me`, renewed],
    ['GET', `${server.url}/api/me`, renewed],
    ['POST', `${server.url}/auth/signout`, undefined],
  ];
  const jtis = new Set<unknown>();
  for (const [i, [htm, htu, ath]] of expected.entries()) {
    const { payload, jkt } = await verified(seen[i]!.dpop!, htm, htu);
    assert.is(jkt, cnf, 'signed by the key the session is bound to');
    assert.is(payload.ath, ath === undefined ? undefined : sha256(ath));
    assert.is(payload.nonce, undefined, 'no nonce: this server gives none');
    jtis.add(payload.jti);
  }
  assert.is(jtis.size, expected.length, 'a new jti for each proof');
  assert.is(seen[2]!.authorization, `DPoP ${renewed}`);
});

S('a new key at each sign-in', async () => {
  const { client: c } = client();
  await c.signIn({ username: 'eve', password: PASSWORD });
  const first = (c.claims!.cnf as { jkt: string }).jkt;
  await c.signIn({ username: 'eve', password: PASSWORD });
  const second = (c.claims!.cnf as { jkt: string }).jkt;
  assert.is.not(first, second);
  assert.is((await c.fetch(`${server.url}/api/me`)).status, 200);
});

S('the server refuses a bound token sent without a proof or as Bearer: what the client adds is what makes it pass', async () => {
  const { client: c, profile } = client();
  await c.signIn({ username: 'finn', password: PASSWORD });
  const token = await c.token();
  for (const authorization of [`DPoP ${token}`, `Bearer ${token}`]) {
    const res = await profile.fetch(`${server.url}/api/me`, { headers: { authorization } });
    assert.is(res.status, 401);
    assert.is(((await res.json()) as { error: string }).error, 'ERR_DPOP_BINDING_MISMATCH');
  }
  // A proof seen once is refused the second time, even with its token.
  const last = server.seen.length;
  assert.is((await c.fetch(`${server.url}/api/me`)).status, 200);
  const { authorization, dpop } = server.seen[last]!;
  const replay = await fetch(`${server.url}/api/me`, { headers: { authorization: authorization!, dpop: dpop! } });
  assert.is(replay.status, 401);
  assert.equal(await replay.json(), { error: 'ERR_DPOP_PROOF_INVALID', reason: 'replayed', message: 'The access token was refused.' });
});

S('dpop: false: no key, no proof, an unbound session on Bearer', async () => {
  const { client: c } = client(server, { dpop: false });
  const from = server.seen.length;
  await c.signIn({ username: 'gus', password: PASSWORD });
  assert.is(c.claims!.cnf, undefined);
  const res = await c.fetch(`${server.url}/api/me`);
  assert.is(((await res.json()) as { auth: string }).auth, `Bearer ${await c.token()}`);
  assert.ok(server.seen.slice(from).every((s) => s.dpop === undefined));
  assert.is((await rejects(Promise.resolve().then(() => new SessionClient({ dpop: 'yes' as never })))).code, 'ERR_CONFIG_INVALID');
});

S('server nonces: a use_dpop_nonce challenge is retried once with the nonce, which is kept for the next calls of the origin', async () => {
  const { client: c } = client(nonced);
  const from = nonced.seen.length;
  const challenged = nonced.challenges.length;
  await c.signIn({ username: 'hana', password: PASSWORD });
  // Sign-in: challenged once, then accepted with the nonce; the calls after it carry the nonce from the start.
  assert.equal(nonced.challenges.slice(challenged), [{ route: 'POST /auth/sign-in', error: 'use_dpop_nonce' }]);
  assert.is((await c.fetch(`${nonced.url}/api/me`)).status, 200);
  await c.refresh();
  assert.equal(nonced.challenges.slice(challenged).length, 1);
  const seen = nonced.seen.slice(from);
  assert.equal(
    seen.map((s) => s.route),
    ['POST /auth/sign-in', 'POST /auth/sign-in', 'GET /api/me', 'POST /auth/refresh'],
  );
  const nonces = seen.map((s) => decodeJwt(s.dpop!).nonce);
  assert.is(nonces[0], undefined);
  assert.type(nonces[1], 'string');
  assert.ok(nonces.slice(1).every((n) => n === nonces[1]));
});

S('a resource answering use_dpop_nonce (a nonce the client does not have yet) is retried once; a second challenge is the answer', async () => {
  // Nonces are kept per origin: the API, on another origin named in tokenOrigins, has given none yet.
  const api = nonced.url.replace('127.0.0.1', 'localhost');
  const other = new SessionClient({ baseUrl: `${nonced.url}/auth`, fetch: new Profile().fetch, channel: false, tokenOrigins: [api] });
  cleanup.push(() => other.close());
  const challenged = nonced.challenges.length;
  const from = nonced.seen.length;
  // Sign in through the endpoints' origin (its nonce learnt there), then call the API origin.
  await other.signIn({ username: 'ivan', password: PASSWORD });
  const res = await other.fetch(`${api}/api/me`);
  assert.is(res.status, 200);
  const seen = nonced.seen.slice(from).filter((s) => s.route === 'GET /api/me');
  assert.equal(seen.length, 2);
  assert.is(decodeProtectedHeader(seen[0]!.dpop!).typ, 'dpop+jwt');
  assert.is(decodeJwt(seen[0]!.dpop!).nonce, undefined, 'no nonce known for that origin');
  assert.type(decodeJwt(seen[1]!.dpop!).nonce, 'string');
  assert.equal(
    nonced.challenges.slice(challenged).map((ch) => ch.route),
    ['POST /auth/sign-in', 'GET /api/me'],
  );
});

S("a device clock hours off: the proof refused for its iat, the client takes the server's Date and sends it again once", async () => {
  const { client: c } = client();
  await c.signIn({ username: 'jo', password: PASSWORD });
  const from = server.seen.length;
  // /api/skewed checks proofs on a clock two hours ahead, and says so in Date.
  const res = await c.fetch(`${server.url}/api/skewed`);
  assert.is(res.status, 200);
  const iats = server.seen.slice(from).map((s) => decodeJwt(s.dpop!).iat as number);
  assert.is(iats.length, 2);
  assert.ok(Math.abs(iats[1]! - iats[0]! - 7200) < 5, `iat moved by ${iats[1]! - iats[0]!} s`);
  // The next server is on this device's clock: refused once (iat two hours ahead), the client follows back.
  const again = await c.fetch(`${server.url}/api/me`);
  assert.is(again.status, 200);
  const back = server.seen.slice(from + 2).map((s) => decodeJwt(s.dpop!).iat as number);
  assert.is(back.length, 2);
  assert.ok(Math.abs(back[1]! - Date.now() / 1000) < 5);
});

S('Socket.IO: the handshake and session:renew carry a proof for GET of the Socket.IO endpoint, with ath of the token', async () => {
  const { client: c } = client();
  const handshakes: Record<string, unknown>[] = [];
  const renewals: Record<string, unknown>[] = [];
  server.io.use((socket, next) => {
    handshakes.push(socket.handshake.auth);
    socket.onAny((event: string, payload: Record<string, unknown>) => {
      if (event === 'session:renew') renewals.push(payload);
    });
    next();
  });
  await c.signIn({ username: 'kim', password: PASSWORD });
  const socket: Socket = connect(server.url, { auth: c.socketAuth, transports: ['websocket'] });
  const detach = c.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.disconnect();
  });
  await until('the socket to connect', () => socket.connected);
  const jkt = (c.claims!.cnf as { jkt: string }).jkt;
  const { payload } = await verified(handshakes.at(-1)!.dpop as string, 'GET', `${server.url}/socket.io/`);
  assert.is(payload.ath, sha256(handshakes.at(-1)!.token as string));
  await c.refresh();
  await until('the renewal to arrive', () => renewals.length > 0);
  const renewal = renewals.at(-1)!;
  assert.is(renewal.token, await c.token());
  const renewed = await verified(renewal.dpop as string, 'GET', `${server.url}/socket.io/`);
  assert.is(renewed.payload.ath, sha256(renewal.token as string));
  assert.is(renewed.jkt, jkt);
  // Another path (io({ path })): attachSocket makes the socket's own auth name it.
  const custom: Socket = connect(`${server.url}/chat?room=1`, { auth: c.socketAuth, path: '/custom', autoConnect: false });
  const detachCustom = c.attachSocket(custom);
  cleanup.push(detachCustom);
  assert.is.not(custom.auth, c.socketAuth);
  const own = await new Promise<{ dpop?: string | undefined }>((resolve) => (custom.auth as (cb: typeof resolve) => void)(resolve));
  assert.is((await verified(own.dpop!, 'GET', `${server.url}/custom/`)).jkt, jkt);
  // socketAuth on its own (no attachSocket) names the endpoints' origin's /socket.io/.
  const alone = await new Promise<{ dpop?: string | undefined }>((resolve) => c.socketAuth(resolve));
  assert.is((await verified(alone.dpop!, 'GET', `${server.url}/socket.io/`)).jkt, jkt);
});

S('startSignIn (a redirect sign-in): a proof by a new key at the start, the session opened at the callback bound to it, restore() proves it', async () => {
  const { client: c, profile } = client();
  const next = await c.startSignIn(`${server.url}/auth/oidc/start`);
  const start = server.seen.findLast((s) => s.route === 'POST /auth/oidc/start')!;
  const { jkt } = await verified(start.dpop!, 'POST', `${server.url}/auth/oidc/start`);
  assert.ok(next.startsWith(`${server.url}/auth/oidc/callback?state=`), next);
  // The provider sends the browser back: a navigation, no proof; the server answers 303 with the cookie.
  const back = await profile.fetch(next, { redirect: 'manual' });
  assert.is(back.status, 303);
  assert.is(back.headers.get('location'), '/');
  assert.equal((await server.manager.readAll('oidc-user')).map((s) => s.dpop), [{ jkt }], 'bound from its first moment');
  assert.is(await c.restore(), true);
  const refresh = server.seen.findLast((s) => s.route === 'POST /auth/refresh')!;
  assert.is((await verified(refresh.dpop!, 'POST', `${server.url}/auth/refresh`)).jkt, jkt, 'restore() proves the key the start proved');
  assert.equal(((await (await c.fetch(`${server.url}/api/me`)).json()) as { sub: string }).sub, 'oidc-user');
  // Without DPoP: no proof at the start, an unbound session.
  const plain = client(server, { dpop: false });
  await plain.profile.fetch(await plain.client.startSignIn(`${server.url}/auth/oidc/start`, { provider: 'idp' }), { redirect: 'manual' });
  assert.is(server.seen.findLast((s) => s.route === 'POST /auth/oidc/start')!.dpop, undefined);
  assert.ok((await server.manager.readAll('oidc-user')).some((s) => s.dpop === undefined));
});

S('startSignIn refuses what the page must not navigate to, and a refusal, as coded errors', async () => {
  const { client: c } = client();
  const hostile = await rejects(c.startSignIn(`${server.url}/auth/oidc/start-hostile`));
  assert.is(hostile.code, 'ERR_HTTP', 'a javascript: URL is not followed');
  const missing = await rejects(c.startSignIn(`${server.url}/auth/oidc/nowhere`));
  assert.is(missing.code, 'ERR_NOT_FOUND');
  const bad = await rejects(c.startSignIn(42 as unknown as string));
  assert.is(bad.code, 'ERR_CONFIG_INVALID');
});

S.run();

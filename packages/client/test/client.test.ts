// The client against a real HTTP server that follows ENDPOINTS.md over a real
// manager: sign-in, restore, fetch with Bearer and one retry, renewal ahead of
// expiry, sign-out, "my sessions", and every way a session ends.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, SessionClientError, type SessionClientOptions, type SignedOutReason } from '../src/index.js';
import { rejects } from './support/assert.js';
import { Profile, until } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('client');
let server: TestServer;
const clients: SessionClient[] = [];

S.before(async () => {
  server = await startTestServer();
});
S.after.each(() => {
  for (const client of clients.splice(0)) client.close();
});
S.after(async () => {
  await server.close();
});

function makeClient(profile = new Profile(), options: SessionClientOptions = {}, url = server.url): SessionClient {
  const client = new SessionClient({ baseUrl: `${url}/auth`, fetch: profile.fetch, channel: `test-${randomUUID()}`, ...options });
  clients.push(client);
  return client;
}

function signedOut(client: SessionClient): SignedOutReason[] {
  const reasons: SignedOutReason[] = [];
  client.on('signedOut', ({ reason }) => reasons.push(reason));
  return reasons;
}

S('invalid options fail at construction, naming the option', () => {
  const cases: [SessionClientOptions, string][] = [
    [{ baseUrl: 42 as unknown as string }, 'baseUrl'],
    [{ signInUrl: {} as unknown as string }, 'signInUrl'],
    [{ fetch: 'no' as unknown as typeof fetch }, 'fetch'],
    [{ refreshAhead: 1 }, 'refreshAhead'],
    [{ refreshAhead: Number.NaN }, 'refreshAhead'],
    [{ channel: '' }, 'channel'],
    [{ credentials: 'all' as 'include' }, 'credentials'],
    [{ locks: {} as never }, 'locks'],
  ];
  for (const [options, name] of cases) {
    try {
      new SessionClient(options);
      assert.unreachable(name);
    } catch (error) {
      assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, name);
    }
  }
});

S('restore() with no cookie is false, and the server answered 204, not a 4xx (a clean console)', async () => {
  const before = server.refreshCalls.get(204) ?? 0;
  const client = makeClient();
  assert.is(await client.restore(), false);
  assert.is(client.session, null);
  assert.is(client.claims, null);
  assert.is(server.refreshCalls.get(204), before + 1);
  const error = await rejects(client.token());
  assert.is(error.code, 'ERR_NOT_SIGNED_IN');
});

S('signIn keeps the token in memory; fetch sends it as Bearer; a wrong password is a coded error', async () => {
  const profile = new Profile();
  const client = makeClient(profile);
  const wrong = await rejects(client.signIn({ username: 'ann', password: 'nope' }));
  assert.is(wrong.code, 'ERR_BAD_CREDENTIALS');
  assert.is(wrong.status, 401);

  const session = await client.signIn({ username: 'ann', password: PASSWORD });
  assert.type(session.sessionId, 'string');
  assert.is(client.claims?.name, 'User ann');
  assert.is(client.claims?.sub, 'ann');
  // The refresh token went to the cookie jar only.
  assert.is(profile.cookies.size, 1);
  const res = await client.fetch(`${server.url}/api/me`, { headers: { accept: 'application/json' } });
  const me = (await res.json()) as { sub: string; sid: string; auth: string };
  assert.is(me.sub, 'ann');
  assert.is(me.sid, session.sessionId);
  assert.is(me.auth, `Bearer ${await client.token()}`);
  // A Request object works too.
  const again = await client.fetch(new Request(`${server.url}/api/me`));
  assert.is(again.status, 200);
});

S('a throwing listener is reported as uncaught and does not break the sign-in that emitted', async () => {
  const client = makeClient();
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    client.on('refreshed', () => {
      throw new Error('listener bug');
    });
    const seen: string[] = [];
    client.on('refreshed', ({ sessionId }) => seen.push(sessionId));
    const { sessionId } = await client.signIn({ username: 'lis', password: PASSWORD });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(seen, [sessionId]);
    assert.is((uncaught[0] as Error).message, 'listener bug');
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const listener of listeners) process.on('uncaughtException', listener);
  }
});

S('a reload: a new client restores the session from the cookie', async () => {
  const profile = new Profile();
  const first = makeClient(profile);
  const { sessionId } = await first.signIn({ username: 'bo', password: PASSWORD });
  first.close();
  const reloaded = makeClient(profile);
  assert.is(await reloaded.restore(), true);
  assert.is(reloaded.session?.sessionId, sessionId);
  assert.is(await reloaded.restore(), true); // already signed in: no second rotation
});

S('a 401 with error="invalid_token" renews once and retries; other 401s are returned as they are', async () => {
  const client = makeClient();
  await client.signIn({ username: 'cy', password: PASSWORD });
  const token = await client.token();
  const rotations = server.rotations();
  server.rejectNext(1);
  const res = await client.fetch(`${server.url}/api/me`);
  assert.is(res.status, 200);
  assert.is(server.rotations(), rotations + 1);
  assert.is.not(await client.token(), token);

  // Twice in a row: one retry only, then the 401 is the caller's.
  server.rejectNext(2);
  assert.is((await client.fetch(`${server.url}/api/me`)).status, 401);
  assert.is(server.rotations(), rotations + 2);

  // A 401 that is not about the token: no renewal.
  assert.is((await client.fetch(`${server.url}/api/forbidden`)).status, 401);
  assert.is(server.rotations(), rotations + 2);
});

S('renews ahead of expiry from expiresIn, once, and keeps working', async () => {
  const short = await startTestServer({ accessTokenTtl: 3 });
  try {
    const client = makeClient(new Profile(), { refreshAhead: 0.5 }, short.url);
    const refreshed: number[] = [];
    client.on('refreshed', ({ expiresAt }) => refreshed.push(expiresAt));
    await client.signIn({ username: 'di', password: PASSWORD });
    await until('a renewal ahead of expiry', () => refreshed.length >= 2, 6000);
    assert.ok(refreshed[1]! >= refreshed[0]!);
    assert.is(short.rotations(), 1);
    assert.is((await client.fetch(`${short.url}/api/me`)).status, 200);
  } finally {
    await short.close();
  }
});

S('in one tab, concurrent callers share one renewal (the single flight without Web Locks)', async () => {
  const client = makeClient(new Profile(), { locks: null });
  await client.signIn({ username: 'ed', password: PASSWORD });
  const rotations = server.rotations();
  await Promise.all([client.refresh(), client.refresh(), client.refresh(), client.token(), client.refresh()]);
  assert.is(server.rotations(), rotations + 1);
});

S('signOut: 204, the cookie is cleared, signedOut says signed-out', async () => {
  const profile = new Profile();
  const client = makeClient(profile);
  const reasons = signedOut(client);
  const { sessionId } = await client.signIn({ username: 'fa', password: PASSWORD });
  await client.signOut();
  assert.equal(reasons, ['signed-out']);
  assert.is(profile.cookies.size, 0);
  assert.is(client.session, null);
  assert.not.ok((await server.manager.readAll('fa')).some((s) => s.sessionId === sessionId));
  await client.signOut(); // signed out already: still fine
  assert.equal(reasons, ['signed-out']);
});

S('sessions(), revoke(id), revokeOthers(); a revoked device signs out with reason revoked', async () => {
  const phone = makeClient();
  const laptop = makeClient();
  const tablet = makeClient();
  const phoneOut = signedOut(phone);
  const { sessionId: phoneId } = await phone.signIn({ username: 'gu', password: PASSWORD });
  const { sessionId: laptopId } = await laptop.signIn({ username: 'gu', password: PASSWORD });
  await tablet.signIn({ username: 'gu', password: PASSWORD });
  const list = await laptop.sessions();
  assert.is(list.length, 3);
  assert.equal(list.filter((s) => s.current).map((s) => s.sessionId), [laptopId]);

  await laptop.revoke(phoneId);
  // The phone learns it on its next call: 401, renewal refused, signed out.
  const res = await phone.fetch(`${server.url}/api/me`);
  assert.is(res.status, 401);
  assert.equal(phoneOut, ['revoked']);
  assert.is((await rejects(phone.fetch(`${server.url}/api/me`))).code, 'ERR_NOT_SIGNED_IN');

  const missing = await rejects(laptop.revoke(phoneId));
  assert.is(missing.code, 'ERR_SESSION_NOT_FOUND');
  assert.is(missing.status, 404);

  assert.is(await laptop.revokeOthers(), 1);
  assert.equal((await laptop.sessions()).map((s) => s.sessionId), [laptopId]);

  // Revoking one's own session is a sign-out.
  const laptopOut = signedOut(laptop);
  await laptop.revoke(laptopId);
  assert.equal(laptopOut, ['signed-out']);
});

S('signOutEverywhere ends every session; another device hears revoked, this one signed-out', async () => {
  const here = makeClient();
  const there = makeClient();
  const hereOut = signedOut(here);
  const thereOut = signedOut(there);
  await here.signIn({ username: 'hu', password: PASSWORD });
  await there.signIn({ username: 'hu', password: PASSWORD });
  await here.signOutEverywhere();
  assert.equal(hereOut, ['signed-out']);
  assert.is((await server.manager.readAll('hu')).length, 0);
  await there.refresh();
  assert.equal(thereOut, ['revoked']);
});

S('a replayed refresh token: the copy is refused as reused and signs out with reason reused', async () => {
  const original = new Profile();
  const client = makeClient(original);
  await client.signIn({ username: 'ia', password: PASSWORD });
  const copy = new Profile();
  for (const [k, v] of original.cookies) copy.cookies.set(k, v);
  const thief = makeClient(copy);
  assert.is(await thief.restore(), true); // the copy rotates first: the original's cookie is now an old token
  const reasons = signedOut(client);
  await client.refresh();
  assert.equal(reasons, ['reused']);
  // The session is gone for the copy too (the server revoked it on reuse): a signed-out copy learns why.
  const thiefReasons = signedOut(thief);
  await thief.refresh();
  assert.equal(thiefReasons, ['revoked']);
});

S('an expired session signs out with reason expired', async () => {
  const brief = await startTestServer({ accessTokenTtl: 60, refreshTokenTtl: 2 });
  try {
    const client = makeClient(new Profile(), {}, brief.url);
    const reasons = signedOut(client);
    await client.signIn({ username: 'jo', password: PASSWORD });
    client.close(); // no scheduled renewal: the next one comes after the session's deadline
    await new Promise((resolve) => setTimeout(resolve, 3200));
    await client.refresh();
    assert.equal(reasons, ['expired']);
  } finally {
    await brief.close();
  }
});

S('offline: calls fail with ERR_NETWORK, the renewal retries with backoff and recovers', async () => {
  const short = await startTestServer({ accessTokenTtl: 2 });
  try {
    const profile = new Profile();
    const client = makeClient(profile, {}, short.url);
    await client.signIn({ username: 'ki', password: PASSWORD });
    profile.offline = true;
    assert.is((await rejects(client.sessions())).code, 'ERR_NETWORK');
    assert.is((await rejects(client.signOut())).code, 'ERR_NETWORK');
    assert.is((await rejects(client.refresh())).code, 'ERR_NETWORK');
    // The token stays while the network is down: it may still be valid.
    assert.type(await client.token(), 'string');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past expiry, a few failed retries
    assert.is(short.rotations(), 0);
    profile.offline = false;
    await until('a renewal after coming back', () => short.rotations() === 1, 8000);
    assert.is((await client.fetch(`${short.url}/api/me`)).status, 200);
    assert.ok(client.session !== null);
  } finally {
    await short.close();
  }
});

S('server errors are coded: a 403 CSRF refusal, an unexpected body, a 5xx during renewal', async () => {
  const profile = new Profile();
  // A fetch that drops the CSRF header: the server refuses with ERR_CSRF.
  const stripping: typeof fetch = (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.delete('x-jwt-session');
    return profile.fetch(input, { ...init, headers });
  };
  const client = makeClient(profile, { fetch: stripping });
  const csrf = await rejects(client.signIn({ username: 'lu', password: PASSWORD }));
  assert.is(csrf.code, 'ERR_CSRF');
  assert.is(csrf.status, 403);

  const odd = makeClient(new Profile(), { fetch: async () => new Response('{"hello":1}', { status: 200 }) });
  assert.is((await rejects(odd.signIn({}))).code, 'ERR_HTTP');
  const html = makeClient(new Profile(), { fetch: async () => new Response('<h1>502</h1>', { status: 502, headers: { 'retry-after': '7' } }) });
  const bad = await rejects(html.restore());
  assert.is(bad.code, 'ERR_HTTP');
  assert.is(bad.status, 502);
  assert.is(bad.retryAfter, 7);
});

// Guards the reviewer's findings on #12: new SessionClient(null) threw a
// destructuring TypeError, refreshAhead '0.5' slipped through coercion,
// attachSocket(null) and fetch(url, null) threw raw TypeErrors, and a 2xx that
// is not JSON (a proxy's page) or of the wrong shape gave signIn, sessions and
// revokeOthers a raw SyntaxError/TypeError instead of a coded ERR_HTTP.
S('bad arguments and non-contract 2xx bodies are coded errors, never raw TypeError/SyntaxError', async () => {
  for (const options of [null, 'x', 1]) {
    try {
      new SessionClient(options as never);
      assert.unreachable(`accepted ${String(options)}`);
    } catch (error) {
      assert.instance(error, SessionClientError);
      assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
    }
  }
  const throwing = Object.defineProperty({}, 'baseUrl', { enumerable: true, get: () => { throw new Error('getter'); } });
  for (const options of [throwing, new Proxy({}, { get: () => { throw new Error('trap'); } })]) {
    try {
      new SessionClient(options as never);
      assert.unreachable('accepted unreadable options');
    } catch (error) {
      assert.instance(error, SessionClientError);
      assert.equal([(error as SessionClientError).code, (error as Error).message], ['ERR_CONFIG_INVALID', 'options could not be read']);
    }
  }
  try {
    new SessionClient({ refreshAhead: '0.5' as unknown as number });
    assert.unreachable('accepted refreshAhead "0.5"');
  } catch (error) {
    assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
    assert.match((error as Error).message, 'refreshAhead');
  }

  const profile = new Profile();
  // The session endpoints' JSON answers, replaced after sign-in by what a proxy or a wrong server might send.
  let replace: Response | undefined;
  const proxied: typeof fetch = async (input, init) => {
    const real = await profile.fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    return replace !== undefined && /\/auth\/sessions/.test(url) ? replace.clone() : real;
  };
  const client = makeClient(profile, { fetch: proxied });
  await client.signIn({ username: 'nina', password: PASSWORD });

  // fetch(url, null) is fetch(url): the Bearer still goes out.
  const me = await client.fetch(`${server.url}/api/me`, null);
  assert.is(me.status, 200);

  for (const body of ['<html>proxy sign-in page</html>', '{"hello":1}', 'null', '{"sessions":"no","revoked":"3"}']) {
    replace = new Response(body, { status: 200, headers: { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' } });
    const list = await rejects(client.sessions());
    assert.equal([list.code, list.status], ['ERR_HTTP', 200], body);
    const revoked = await rejects(client.revokeOthers());
    assert.equal([revoked.code, revoked.status], ['ERR_HTTP', 200], body);
  }
  replace = undefined;
  assert.is((await client.sessions()).length >= 1, true);

  const page = makeClient(new Profile(), { fetch: async () => new Response('<html>proxy</html>', { status: 200, headers: { 'content-type': 'text/html' } }) });
  const signIn = await rejects(page.signIn({ username: 'nina', password: PASSWORD }));
  assert.is(signIn.code, 'ERR_HTTP');

  for (const socket of [null, undefined, {}, 'socket']) {
    try {
      client.attachSocket(socket as never);
      assert.unreachable(`accepted ${String(socket)}`);
    } catch (error) {
      assert.instance(error, SessionClientError);
      assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
    }
  }
});

S.run();

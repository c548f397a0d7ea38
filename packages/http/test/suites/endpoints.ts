import type { JwtUserSessionManager, JwtUserSessionManagerOptions } from '@jwt-session/session-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageOf, type HttpErrorCode } from '../../src/core/errors.js';
import { CHROME_WINDOWS, Cleanup, Client, cookieAttributes, makeManager, rawRequest, type Answer, type AppOptions, type Framework, type SwitchableStore } from '../support.js';

export interface Ctx {
  manager: JwtUserSessionManager & { store: SwitchableStore };
  origin: string;
  client: Client;
}

export type Setup = Partial<AppOptions> & { manager?: Partial<JwtUserSessionManagerOptions> };

export async function withApp(framework: Framework, setup: Setup, run: (ctx: Ctx) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup, setup.manager);
    const { manager: _m, ...app } = setup;
    const origin = await framework.start(cleanup, manager, { endpoints: {}, ...app });
    await run({ manager, origin, client: new Client(origin) });
  } finally {
    await cleanup.run();
  }
}

export function assertError(answer: Answer, status: number, code: string): void {
  assert.is(answer.status, status, `status for ${code}: ${answer.text}`);
  assert.is(answer.body?.error, code);
  // The message is the fixed text for the code, so nothing the request carried can be echoed into it.
  assert.is(answer.body?.message, messageOf(code as HttpErrorCode));
  assert.equal(Object.keys(answer.body!).sort(), ['error', 'message']);
  assert.is(answer.headers.get('cache-control'), 'no-store');
}

export function assertSessionBody(answer: Answer): { accessToken: string; expiresAt: number; expiresIn: number; sessionId: string } {
  assert.is(answer.status, 200, answer.text);
  assert.is(answer.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.is(answer.headers.get('cache-control'), 'no-store');
  const body = answer.body as { accessToken: string; expiresAt: number; expiresIn: number; sessionId: string };
  assert.equal(Object.keys(body).sort(), ['accessToken', 'expiresAt', 'expiresIn', 'sessionId']);
  assert.type(body.accessToken, 'string');
  assert.type(body.sessionId, 'string');
  return body;
}

const STATE_CHANGING: Array<{ label: string; path: string; method: string }> = [
  { label: 'refresh', path: '/auth/refresh', method: 'POST' },
  { label: 'signout', path: '/auth/signout', method: 'POST' },
  { label: 'signout-everywhere', path: '/auth/signout-everywhere', method: 'POST' },
  { label: 'revoke one', path: '/auth/sessions/SESSION', method: 'DELETE' },
  { label: 'revoke-others', path: '/auth/sessions/revoke-others', method: 'POST' },
  { label: 'sign-in (issueSession)', path: '/login', method: 'POST' },
];

/** The endpoint contract (ENDPOINTS.md), run once per framework. */
export function endpointsSuite(framework: Framework): void {
  const S = suite(`session endpoints (${framework.name})`);
  const app = (setup: Setup, run: (ctx: Ctx) => Promise<void>) => withApp(framework, setup, run);

  S('sign-in through issueSession: the refresh body, the cookie with safe defaults over http, device context recorded', () =>
    app({ issue: { claims: { name: 'Alice' }, context: { location: 'Berlin' } }, manager: { refreshTokenTtl: 3600, accessTokenTtl: 600 } }, async ({ manager, client }) => {
      const answer = await client.signIn('alice');
      const body = assertSessionBody(answer);
      assert.ok(body.expiresIn > 590 && body.expiresIn <= 600, `expiresIn ${body.expiresIn}`);
      assert.ok(Math.abs(body.expiresAt - (Math.floor(Date.now() / 1000) + body.expiresIn)) <= 1);
      const claims = await manager.read(body.accessToken);
      assert.equal([claims.sub, claims.sid, claims.name], ['alice', body.sessionId, 'Alice']);

      const cookie = cookieAttributes(answer.setCookie!);
      assert.is(cookie.name, 'jwt-session-refresh');
      assert.ok(String(cookie.value).length > 20);
      assert.is(cookie.path, '/auth');
      assert.is(cookie.httponly, true);
      assert.is(cookie.samesite, 'Strict');
      const maxAge = Number(cookie['max-age']);
      assert.ok(maxAge > 3590 && maxAge <= 3600, `Max-Age ${maxAge} from the refresh deadline`);
      assert.is(cookie.secure, undefined, 'no Secure over plain http');
      assert.is(cookie.domain, undefined, 'host-only');

      const [session] = await manager.readAll('alice');
      assert.equal(session!.context, { device: 'Firefox 140 on macOS', ip: '127.0.0.1', userAgent: client.userAgent, location: 'Berlin' });
    }),
  );

  S('refresh rotates through the cookie: new body, new cookie, same session; device context updated', () =>
    app({}, async ({ manager, client, origin }) => {
      const first = assertSessionBody(await client.signIn('alice'));
      const firstCookie = client.cookie;
      const moved = new Client(origin, CHROME_WINDOWS);
      moved.cookie = firstCookie;
      const answer = await moved.call('/auth/refresh');
      const second = assertSessionBody(answer);
      assert.is(second.sessionId, first.sessionId);
      assert.is.not(second.accessToken, first.accessToken);
      assert.is.not(moved.cookie, firstCookie);
      assert.is(cookieAttributes(answer.setCookie!).path, '/auth');
      await manager.read(second.accessToken);
      const [session] = await manager.readAll('alice');
      assert.is(session!.context.device, 'Chrome 131 on Windows');
    }),
  );

  S('refresh without any refresh cookie answers 204 with no body and no cookie (a signed-out visitor sees no error)', () =>
    app({}, async ({ client }) => {
      const answer = await client.call('/auth/refresh');
      assert.is(answer.status, 204);
      assert.is(answer.text, '');
      assert.is(answer.setCookie, undefined);
      assert.is(answer.headers.get('cache-control'), 'no-store');
      client.cookie = 'jwt-session-refresh=';
      assert.is((await client.call('/auth/refresh')).status, 204, 'an empty cookie is no cookie');
    }),
  );

  S('a reused refresh cookie: 401 ERR_REFRESH_TOKEN_REUSED, the cookie cleared, the session revoked', () =>
    app({}, async ({ manager, client, origin }) => {
      await client.signIn('alice');
      const stolen = client.cookie;
      const current = assertSessionBody(await client.call('/auth/refresh'));
      const thief = new Client(origin);
      thief.cookie = stolen;
      const answer = await thief.call('/auth/refresh');
      assertError(answer, 401, 'ERR_REFRESH_TOKEN_REUSED');
      const cleared = cookieAttributes(answer.setCookie!);
      assert.equal([cleared.name, cleared.value, cleared['max-age'], cleared.path], ['jwt-session-refresh', '', '0', '/auth']);
      assert.is(thief.cookie, undefined);
      await manager.read(current.accessToken).then(
        () => assert.unreachable('the session survived reuse'),
        (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
      );
      assertError(await client.call('/auth/refresh'), 401, 'ERR_REFRESH_TOKEN_INVALID');
    }),
  );

  // Issue 22: a reuse the policy only refuses must not clear the browser's cookie (another tab may have set the current token in it).
  S("refreshTokenReusePolicy { previous: 'refuse' }: a slow tab's old cookie gets 401 ERR_REFRESH_TOKEN_REUSED, no cookie cleared, the session lives", () =>
    app({ manager: { refreshTokenReusePolicy: { previous: 'refuse' } } }, async ({ manager, client, origin }) => {
      await client.signIn('alice');
      const old = client.cookie;
      const current = assertSessionBody(await client.call('/auth/refresh'));
      const slowTab = new Client(origin);
      slowTab.cookie = old;
      const answer = await slowTab.call('/auth/refresh');
      assertError(answer, 401, 'ERR_REFRESH_TOKEN_REUSED');
      assert.is(answer.setCookie, undefined, 'the cookie was cleared');
      assert.is((await manager.read(current.accessToken)).sub, 'alice');
      assertSessionBody(await client.call('/auth/refresh'));
    }),
  );

  S('a forged or garbled cookie: 401 ERR_REFRESH_TOKEN_INVALID with fixed text (nothing of the cookie echoed), cookie cleared', () =>
    app({}, async ({ client }) => {
      for (const value of ['garbage', '<script>alert(1)</script>', 'AAAAAAAAAAAAAAAAAAAAAAAAAA.99999999999.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']) {
        client.cookie = `jwt-session-refresh=${value}`;
        const answer = await client.call('/auth/refresh');
        assertError(answer, 401, 'ERR_REFRESH_TOKEN_INVALID');
        assert.not.ok(answer.text.includes(value.slice(0, 8)), 'the cookie is not echoed');
        assert.is(cookieAttributes(answer.setCookie!)['max-age'], '0');
      }
    }),
  );

  // Guards #20 item 1 (cookie tossing): a sibling subdomain or a page over http sets a second refresh
  // cookie (Domain= or a longer Path), which the browser sends before ours.
  S('cookie tossing, garbage first: 401 ERR_REFRESH_COOKIE_AMBIGUOUS, no Set-Cookie (the genuine cookie is not cleared) and not spent', () =>
    app({}, async ({ client }) => {
      const first = assertSessionBody(await client.signIn('alice'));
      const genuine = client.cookie!;
      client.cookie = `jwt-session-refresh=garbage; ${genuine}`;
      const answer = await client.call('/auth/refresh');
      assertError(answer, 401, 'ERR_REFRESH_COOKIE_AMBIGUOUS');
      assert.is(answer.setCookie, undefined, 'no Set-Cookie: clearing would delete the genuine cookie while the tossed one stays');
      assert.is(answer.headers.get('www-authenticate'), null);
      // The genuine cookie alone still works: it was neither cleared nor rotated (no reuse on the next refresh).
      client.cookie = genuine;
      assert.is(assertSessionBody(await client.call('/auth/refresh')).sessionId, first.sessionId);
    }),
  );

  S('cookie tossing, the attacker’s own valid refresh cookie first: refused, not signed in as the attacker, neither session touched', () =>
    app({}, async ({ manager, client, origin }) => {
      const victim = assertSessionBody(await client.signIn('alice'));
      const attacker = new Client(origin);
      const mallory = assertSessionBody(await attacker.signIn('mallory'));
      const genuine = client.cookie!;
      for (const cookie of [`${attacker.cookie!}; ${genuine}`, `${genuine}; ${attacker.cookie!}`]) {
        client.cookie = cookie;
        const answer = await client.call('/auth/refresh');
        assertError(answer, 401, 'ERR_REFRESH_COOKIE_AMBIGUOUS');
        assert.is(answer.setCookie, undefined);
        assert.not.ok(answer.text.includes('accessToken'), 'no access token of either account');
      }
      // Neither refresh token was spent: both still rotate without reuse.
      client.cookie = genuine;
      assert.is(assertSessionBody(await client.call('/auth/refresh')).sessionId, victim.sessionId);
      assert.is(assertSessionBody(await attacker.call('/auth/refresh')).sessionId, mallory.sessionId);
      assert.equal([(await manager.readAll('alice')).length, (await manager.readAll('mallory')).length], [1, 1]);
    }),
  );

  S('cookie tossing cannot prevent signing out: signout ends the session of every refresh cookie sent and clears ours', () =>
    app({}, async ({ manager, client, origin }) => {
      const victim = assertSessionBody(await client.signIn('alice'));
      const attacker = new Client(origin);
      await attacker.signIn('mallory');
      client.cookie = `jwt-session-refresh=garbage; ${attacker.cookie!}; ${client.cookie!}`;
      const answer = await client.call('/auth/signout');
      assert.is(answer.status, 204, answer.text);
      assert.is(cookieAttributes(answer.setCookie!)['max-age'], '0');
      await manager.read(victim.accessToken).then(
        () => assert.unreachable('the victim stayed signed in'),
        (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
      );
      assert.equal([(await manager.readAll('alice')).length, (await manager.readAll('mallory')).length], [0, 0], 'the tossed cookie’s session ended too');
      // More refresh cookies than a browser can send: nothing is read, nothing cleared.
      client.cookie = Array.from({ length: 17 }, (_, i) => `jwt-session-refresh=v${i}`).join('; ');
      for (const path of ['/auth/refresh', '/auth/signout']) {
        const flood = await client.call(path);
        assertError(flood, 401, 'ERR_REFRESH_COOKIE_AMBIGUOUS');
        assert.is(flood.setCookie, undefined);
      }
    }),
  );

  S('cookie tossing over https: a __Secure- name is no defence (refused), a __Host- one is (no sibling can set it, the first is ours)', async () => {
    await app({ tls: true }, async ({ client }) => {
      await client.signIn('alice');
      const genuine = client.cookie!;
      assert.match(genuine, /^__Secure-jwt-session-refresh=/);
      client.cookie = `__Secure-jwt-session-refresh=garbage; ${genuine}`;
      const answer = await client.call('/auth/refresh');
      assertError(answer, 401, 'ERR_REFRESH_COOKIE_AMBIGUOUS');
      assert.is(answer.setCookie, undefined);
    });
    await app({ tls: true, endpoints: { cookie: { path: '/' } } }, async ({ client }) => {
      const first = assertSessionBody(await client.signIn('alice'));
      const genuine = client.cookie!;
      assert.match(genuine, /^__Host-jwt-session-refresh=/);
      // Only a client writing its own Cookie header can send two: the first is what it chose.
      client.cookie = `${genuine}; __Host-jwt-session-refresh=garbage`;
      assert.is(assertSessionBody(await client.call('/auth/refresh')).sessionId, first.sessionId);
    });
  });

  // Guards #28's small item: browsers cap cookies at 400 days (RFC 6265bis §5.6.2).
  S('the refresh cookie’s Max-Age is at most 400 days, even when refreshTokenTtl is longer', () =>
    app({ manager: { refreshTokenTtl: 500 * 24 * 3600 } }, async ({ client }) => {
      const answer = await client.signIn('alice');
      assertSessionBody(answer);
      assert.is(cookieAttributes(answer.setCookie!)['max-age'], String(400 * 24 * 3600));
      assert.is(cookieAttributes((await client.call('/auth/refresh')).setCookie!)['max-age'], String(400 * 24 * 3600));
    }),
  );

  S('refresh while the store is down: 503 ERR_STORAGE_UNAVAILABLE and the cookie is kept for a retry', () =>
    app({}, async ({ manager, client }) => {
      await client.signIn('alice');
      manager.store.down = true;
      const answer = await client.call('/auth/refresh');
      assertError(answer, 503, 'ERR_STORAGE_UNAVAILABLE');
      assert.not.ok(answer.text.includes('ECONNREFUSED'), 'the backend error stays on the server');
      assert.is(answer.setCookie, undefined);
      manager.store.down = false;
      assertSessionBody(await client.call('/auth/refresh'));
    }),
  );

  S('signout ends the cookie’s session everywhere and clears the cookie; without a cookie or with a dead one it is 204 too', () =>
    app({}, async ({ manager, client, origin }) => {
      const body = assertSessionBody(await client.signIn('alice'));
      const other = new Client(origin);
      const otherBody = assertSessionBody(await other.signIn('alice'));
      const answer = await client.call('/auth/signout');
      assert.is(answer.status, 204);
      assert.is(answer.text, '');
      assert.equal([cookieAttributes(answer.setCookie!)['max-age'], cookieAttributes(answer.setCookie!).path], ['0', '/auth']);
      await manager.read(body.accessToken).then(
        () => assert.unreachable('signed-out session still valid'),
        (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
      );
      assert.equal((await manager.readAll('alice')).map((s) => s.sessionId), [otherBody.sessionId], 'the other device stays signed in');
      assert.is((await client.call('/auth/signout')).status, 204, 'no cookie');
      client.cookie = 'jwt-session-refresh=garbage';
      const dead = await client.call('/auth/signout');
      assert.is(dead.status, 204, 'dead cookie');
      assert.is(cookieAttributes(dead.setCookie!)['max-age'], '0');
    }),
  );

  S('signout while the store is down: 503, cookie kept', () =>
    app({}, async ({ manager, client }) => {
      await client.signIn('alice');
      manager.store.down = true;
      const answer = await client.call('/auth/signout');
      assertError(answer, 503, 'ERR_STORAGE_UNAVAILABLE');
      assert.is(answer.setCookie, undefined);
    }),
  );

  S('signout-everywhere (bearer) ends every session of the user and clears the cookie', () =>
    app({}, async ({ manager, client, origin }) => {
      const mine = assertSessionBody(await client.signIn('alice'));
      const other = assertSessionBody(await new Client(origin).signIn('alice'));
      const bob = assertSessionBody(await new Client(origin).signIn('bob'));
      const answer = await client.call('/auth/signout-everywhere', { bearer: mine.accessToken });
      assert.is(answer.status, 204);
      assert.is(cookieAttributes(answer.setCookie!)['max-age'], '0');
      for (const token of [mine.accessToken, other.accessToken]) {
        await manager.read(token).then(
          () => assert.unreachable('a session survived signout-everywhere'),
          (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
        );
      }
      assert.is((await manager.readAll('alice')).length, 0);
      await manager.read(bob.accessToken);
    }),
  );

  S('device: true feeds the device history with the request\'s browser and network (a new one is news, a known one is not); issueSession\'s amr and acr reach the token', () =>
    app({ manager: { deviceHistory: true }, endpoints: { device: true }, issue: { amr: ['pwd'], acr: 'loa1' } }, async ({ manager, origin, client }) => {
      const seen: Array<{ summary: string; network: string; first: boolean }> = [];
      manager.on('sessionCreatedOnNewDevice', (event) => seen.push({ ...event.device, first: event.first }));
      const first = assertSessionBody(await new Client(origin, CHROME_WINDOWS).signIn('alice'));
      assertSessionBody(await new Client(origin, CHROME_WINDOWS).signIn('alice'));
      assertSessionBody(await client.signIn('alice'));
      assert.equal(seen, [
        { summary: 'Chrome 131 on Windows', network: '127.0.0.0/24', first: true },
        { summary: 'Firefox 140 on macOS', network: '127.0.0.0/24', first: false },
      ]);
      const claims = await manager.read(first.accessToken);
      assert.equal([claims.amr, claims.acr], [['pwd'], 'loa1']);
    }),
  );

  S('GET sessions lists mine, newest first, current marked, device and ip; nothing of another user or of a token', () =>
    app({}, async ({ client, origin }) => {
      const phone = new Client(origin, CHROME_WINDOWS);
      const a = assertSessionBody(await phone.signIn('alice'));
      await new Promise((r) => setTimeout(r, 5));
      const b = assertSessionBody(await client.signIn('alice'));
      await new Client(origin).signIn('bob');
      const answer = await client.call('/auth/sessions', { method: 'GET', bearer: b.accessToken, csrf: false, origin: null });
      assert.is(answer.status, 200, answer.text);
      assert.is(answer.headers.get('cache-control'), 'no-store');
      const sessions = answer.body!.sessions as Array<Record<string, unknown>>;
      assert.equal(
        sessions.map((s) => [s.sessionId, s.current, s.device, s.ip]),
        [
          [b.sessionId, true, 'Firefox 140 on macOS', '127.0.0.1'],
          [a.sessionId, false, 'Chrome 131 on Windows', '127.0.0.1'],
        ],
      );
      for (const s of sessions) {
        assert.equal(Object.keys(s).sort(), ['authTime', 'bound', 'createdAt', 'current', 'device', 'expiresAt', 'ip', 'lastRefreshedAt', 'sessionId']);
        assert.ok(Number.isInteger(s.createdAt) && Number.isInteger(s.expiresAt) && (s.expiresAt as number) > (s.createdAt as number));
      }
      for (const secret of [a.accessToken, b.accessToken, client.cookie!.split('=')[1]!, phone.cookie!.split('=')[1]!]) assert.not.ok(answer.text.includes(secret));
    }),
  );

  S('DELETE sessions/:id revokes one of mine (204); another user’s, a dead or a garbled id is 404 ERR_SESSION_NOT_FOUND; my own clears the cookie', () =>
    app({}, async ({ manager, client, origin }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      const laptop = assertSessionBody(await new Client(origin).signIn('alice'));
      const bob = assertSessionBody(await new Client(origin).signIn('bob'));
      const revoke = (id: string) => client.call(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', bearer: me.accessToken });

      const answer = await revoke(laptop.sessionId);
      assert.is(answer.status, 204);
      assert.is(answer.setCookie, undefined, 'revoking another device keeps my cookie');
      await manager.read(laptop.accessToken).then(
        () => assert.unreachable('revoked session still valid'),
        (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
      );
      for (const id of [bob.sessionId, laptop.sessionId, 'not-a-session', '%E0%A4%A', '../refresh']) assertError(await revoke(id), 404, 'ERR_SESSION_NOT_FOUND');
      await manager.read(bob.accessToken);

      const own = await revoke(me.sessionId);
      assert.is(own.status, 204);
      assert.is(cookieAttributes(own.setCookie!)['max-age'], '0');
    }),
  );

  S('revoke-others ends every other session of mine and keeps the current one working', () =>
    app({}, async ({ manager, client, origin }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      const others = [assertSessionBody(await new Client(origin).signIn('alice')), assertSessionBody(await new Client(origin).signIn('alice'))];
      const bob = assertSessionBody(await new Client(origin).signIn('bob'));
      const answer = await client.call('/auth/sessions/revoke-others', { bearer: me.accessToken });
      assert.is(answer.status, 200, answer.text);
      assert.equal(answer.body, { revoked: 2 });
      assert.is(answer.setCookie, undefined);
      for (const other of others) {
        await manager.read(other.accessToken).then(
          () => assert.unreachable('another session survived'),
          (error: { code: string }) => assert.is(error.code, 'ERR_SESSION_REVOKED'),
        );
      }
      await manager.read(me.accessToken);
      await manager.read(bob.accessToken);
      assertSessionBody(await client.call('/auth/refresh'));
      const list = await client.call('/auth/sessions', { method: 'GET', bearer: me.accessToken });
      assert.equal((list.body!.sessions as Array<{ sessionId: string; current: boolean }>).map((s) => [s.sessionId, s.current]), [[me.sessionId, true]]);
    }),
  );

  S('bearer endpoints: 401 with a bare challenge without a token, error="invalid_token" for a bad or revoked one, 400 for a malformed header', () =>
    app({}, async ({ manager, client, origin }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      const missing = await client.call('/auth/sessions', { method: 'GET' });
      assertError(missing, 401, 'ERR_AUTH_TOKEN_REQUIRED');
      assert.is(missing.headers.get('www-authenticate'), 'Bearer');
      const basic = await client.call('/auth/sessions', { method: 'GET', headers: { authorization: 'Basic YTpi' } });
      assertError(basic, 401, 'ERR_AUTH_TOKEN_REQUIRED');

      const forged = `${me.accessToken.slice(0, -4)}AAAA`;
      const bad = await client.call('/auth/sessions/revoke-others', { bearer: forged });
      assertError(bad, 401, 'ERR_AUTH_TOKEN_INVALID');
      assert.is(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.not.ok(bad.text.includes(forged));

      const malformed = await client.call('/auth/sessions', { method: 'GET', headers: { authorization: 'Bearer <script> x' } });
      assertError(malformed, 400, 'ERR_AUTH_HEADER_MALFORMED');
      assert.is(malformed.headers.get('www-authenticate'), 'Bearer error="invalid_request"');
      assert.not.ok(malformed.text.includes('<script>'));
      // Two Authorization headers: a proxy and the app might disagree on which one counts.
      const twice = await rawRequest(`${origin}/auth/sessions`, 'GET', ['Authorization', `Bearer ${me.accessToken}`, 'Authorization', 'Bearer other']);
      assert.equal([twice.status, twice.body.error], [400, 'ERR_AUTH_HEADER_MALFORMED']);

      await manager.deleteOne('alice', me.sessionId);
      const revoked = await client.call('/auth/signout-everywhere', { bearer: me.accessToken });
      assertError(revoked, 401, 'ERR_SESSION_REVOKED');
      assert.is(revoked.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    }),
  );

  S('sessions while the store is down: 503 ERR_STORAGE_UNAVAILABLE', () =>
    app({}, async ({ manager, client }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      manager.store.down = true;
      assertError(await client.call('/auth/sessions', { method: 'GET', bearer: me.accessToken }), 503, 'ERR_STORAGE_UNAVAILABLE');
      assertError(await client.signIn('bob'), 503, 'ERR_STORAGE_UNAVAILABLE');
    }),
  );

  S('CSRF: every state-changing endpoint refuses a missing or wrong header, a foreign or null Origin, a cross-site or same-site Sec-Fetch-Site — 403 ERR_CSRF, nothing changed', () =>
    app({}, async ({ manager, client, origin }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      const other = assertSessionBody(await new Client(origin).signIn('alice'));
      const attacks: Array<[string, Parameters<Client['call']>[1]]> = [
        ['no custom header', { csrf: false }],
        ['custom header with another value', { csrf: false, headers: { 'x-jwt-session': 'true' } }],
        ['foreign Origin', { origin: 'https://evil.example' }],
        ['same host, other scheme', { origin: origin.replace('http:', 'https:') }],
        ['same host, other port', { origin: 'http://127.0.0.1:1' }],
        ['Origin null', { origin: 'null' }],
        ['no Origin, Sec-Fetch-Site cross-site', { origin: null, headers: { 'sec-fetch-site': 'cross-site' } }],
        ['no Origin, Sec-Fetch-Site same-site', { origin: null, headers: { 'sec-fetch-site': 'same-site' } }],
      ];
      for (const endpoint of STATE_CHANGING) {
        for (const [label, options] of attacks) {
          const path = endpoint.path.replace('SESSION', other.sessionId);
          const answer = await client.call(path, { ...options, method: endpoint.method, bearer: me.accessToken, headers: { 'x-user': 'alice', ...options?.headers } });
          assertError(answer, 403, 'ERR_CSRF');
          assert.is(answer.setCookie, undefined, `${endpoint.label} / ${label}: no cookie change`);
          assert.not.ok(answer.text.includes('evil'), 'the Origin is not echoed');
        }
      }
      // Nothing happened: both sessions live, the cookie was not rotated (it still refreshes without reuse).
      assert.is((await manager.readAll('alice')).length, 2);
      assertSessionBody(await client.call('/auth/refresh'));
    }),
  );

  S('CSRF passes: own Origin, Sec-Fetch-Site same-origin without Origin, no browser headers at all; GET sessions needs no CSRF header', () =>
    app({}, async ({ client }) => {
      assertSessionBody(await client.signIn('alice'));
      assertSessionBody(await client.call('/auth/refresh', { origin: null, headers: { 'sec-fetch-site': 'same-origin' } }));
      const body = assertSessionBody(await client.call('/auth/refresh', { origin: null }));
      assert.is((await client.call('/auth/sessions', { method: 'GET', csrf: false, bearer: body.accessToken })).status, 200);
    }),
  );

  S('CSRF allow-list: listed origins (array, case-insensitive) and a predicate; requireOrigin refuses requests with neither header', async () => {
    await app({ endpoints: { allowedOrigins: ['https://App.Example.com'] } }, async ({ client }) => {
      assertSessionBody(await client.signIn('alice', { origin: 'https://app.example.com' }));
      assertSessionBody(await client.call('/auth/refresh', { origin: 'https://app.example.com' }));
      assertError(await client.call('/auth/refresh', { origin: 'https://app.example.com.evil.example' }), 403, 'ERR_CSRF');
    });
    await app({ endpoints: { allowedOrigins: (o) => o.endsWith('.trusted.example'), requireOrigin: true } }, async ({ client }) => {
      assertSessionBody(await client.signIn('alice', { origin: 'https://a.trusted.example' }));
      assertError(await client.call('/auth/refresh', { origin: 'https://trusted.example.evil' }), 403, 'ERR_CSRF');
      assertError(await client.call('/auth/refresh', { origin: null }), 403, 'ERR_CSRF');
      assertSessionBody(await client.call('/auth/refresh'));
    });
    await app({ endpoints: { allowedOrigins: () => { throw new Error('predicate bug'); } } }, async ({ client }) => {
      assertError(await client.call('/auth/refresh', { origin: 'https://x.example' }), 403, 'ERR_CSRF');
    });
  });

  S('issueSession with csrf: false skips the check (for sign-in flows that bring their own)', () =>
    app({ issue: { csrf: false } }, async ({ client }) => {
      assertSessionBody(await client.signIn('alice', { csrf: false, origin: 'https://elsewhere.example' }));
    }),
  );

  S('https via a trusted proxy (X-Forwarded-Proto): Secure, __Secure- prefix for Path=/auth, same-origin is the https origin', () =>
    app({ endpoints: { trustProxy: true } }, async ({ manager, client, origin }) => {
      const https = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9, 10.0.0.2' };
      const httpsOrigin = origin.replace('http:', 'https:');
      const answer = await client.signIn('alice', { origin: httpsOrigin, headers: https });
      assertSessionBody(answer);
      const cookie = cookieAttributes(answer.setCookie!);
      assert.equal([cookie.name, cookie.secure, cookie.path, cookie.httponly, cookie.samesite], ['__Secure-jwt-session-refresh', true, '/auth', true, 'Strict']);
      assert.is((await manager.readAll('alice'))[0]!.context.ip, '203.0.113.9', 'client address from X-Forwarded-For');
      assertSessionBody(await client.call('/auth/refresh', { origin: httpsOrigin, headers: https }));
      // The https cookie is not the http one: over http the same jar holds no refresh cookie.
      assert.is((await client.call('/auth/refresh', { origin })).status, 204);
      assertError(await client.call('/auth/refresh', { origin, headers: https }), 403, 'ERR_CSRF');
    }),
  );

  S('trustProxy as a hop count picks the address that many hops from the right', () =>
    app({ endpoints: { trustProxy: 2 } }, async ({ manager, client }) => {
      await client.signIn('alice', { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2' } });
      assert.is((await manager.readAll('alice'))[0]!.context.ip, '198.51.100.7');
    }),
  );

  S('X-Forwarded-* are ignored without trustProxy: no Secure cookie, the socket’s address', () =>
    app({}, async ({ manager, client, origin }) => {
      const answer = await client.signIn('alice', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } });
      const cookie = cookieAttributes(answer.setCookie!);
      assert.equal([cookie.name, cookie.secure], ['jwt-session-refresh', undefined]);
      assert.is((await manager.readAll('alice'))[0]!.context.ip, '127.0.0.1');
      assertError(await client.call('/auth/refresh', { origin: origin.replace('http:', 'https:'), headers: { 'x-forwarded-proto': 'https' } }), 403, 'ERR_CSRF');
    }),
  );

  S('real TLS: Secure and __Secure- by default; __Host- when the cookie path is "/"', async () => {
    await app({ tls: true }, async ({ client }) => {
      const answer = await client.signIn('alice');
      const cookie = cookieAttributes(answer.setCookie!);
      assert.equal([cookie.name, cookie.secure, cookie.path], ['__Secure-jwt-session-refresh', true, '/auth']);
      assertSessionBody(await client.call('/auth/refresh'));
      const out = await client.call('/auth/signout');
      assert.equal([cookieAttributes(out.setCookie!).name, cookieAttributes(out.setCookie!).secure, cookieAttributes(out.setCookie!)['max-age']], ['__Secure-jwt-session-refresh', true, '0']);
    });
    await app({ tls: true, endpoints: { cookie: { path: '/' } } }, async ({ client }) => {
      const cookie = cookieAttributes((await client.signIn('alice')).setCookie!);
      assert.equal([cookie.name, cookie.secure, cookie.path, cookie.domain], ['__Host-jwt-session-refresh', true, '/', undefined]);
      assertSessionBody(await client.call('/auth/refresh'));
    });
  });

  S('every cookie attribute is configurable', () =>
    app(
      {
        endpoints: {
          basePath: '/api/session/',
          cookie: { name: 'rt', path: '/api', domain: 'example.test', sameSite: 'Lax', secure: true, prefix: 'none', httpOnly: false, persistent: false },
        },
      },
      async ({ client }) => {
        const answer = await client.signIn('alice');
        const cookie = cookieAttributes(answer.setCookie!);
        assert.equal(
          [cookie.name, cookie.path, cookie.domain, cookie.samesite, cookie.secure, cookie.httponly, cookie['max-age']],
          ['rt', '/api', 'example.test', 'Lax', true, undefined, undefined],
        );
        assertSessionBody(await client.call('/api/session/refresh'));
        assert.is((await client.call('/auth/refresh')).status, 404, 'the default base is not served');
        const cleared = cookieAttributes((await client.call('/api/session/signout')).setCookie!);
        assert.equal([cleared.name, cleared['max-age'], cleared.domain, cleared.path], ['rt', '0', 'example.test', '/api']);
      },
    ),
  );

  S('explicit prefixes and SameSite=None over https', () =>
    app({ endpoints: { trustProxy: 1, cookie: { prefix: '__Host-', path: '/', sameSite: 'None' } } }, async ({ client, origin }) => {
      const https = { 'x-forwarded-proto': 'https' };
      const cookie = cookieAttributes((await client.signIn('alice', { origin: origin.replace('http:', 'https:'), headers: https })).setCookie!);
      assert.equal([cookie.name, cookie.samesite, cookie.secure], ['__Host-jwt-session-refresh', 'None', true]);
      // Over plain http a prefix cannot be used (no Secure): the plain name.
      const plain = cookieAttributes((await new Client(origin).signIn('alice')).setCookie!);
      assert.equal([plain.name, plain.secure], ['jwt-session-refresh', undefined]);
    }),
  );

  S('requests that are not ours pass through: other paths, other methods, CORS preflights reach the app', () =>
    app({}, async ({ client }) => {
      const ping = await client.call('/app/ping', { method: 'GET' });
      assert.equal([ping.status, ping.body], [200, { app: true }]);
      const preflight = await client.call('/auth/refresh', { method: 'OPTIONS', csrf: false, headers: { 'access-control-request-method': 'POST' } });
      assert.equal([preflight.status, preflight.headers.get('x-app-preflight')], [204, '1']);
      for (const [method, path] of [['GET', '/auth/refresh'], ['POST', '/auth/unknown'], ['POST', '/auth'], ['GET', '/auth/sessions/x/y']] as const) {
        const answer = await client.call(path, { method });
        assert.is(answer.status, 404, `${method} ${path}`);
        assert.is.not(answer.body?.error, 'ERR_CSRF');
      }
    }),
  );

  S('a refresh body with a JSON content type (even empty) is accepted and ignored', () =>
    app({}, async ({ client }) => {
      await client.signIn('alice');
      assertSessionBody(await client.call('/auth/refresh', { headers: { 'content-type': 'application/json' } }));
    }),
  );

  S('issueSession with claims the manager refuses: 500 with a fixed message, the cause to onError only', async () => {
    const seen: unknown[] = [];
    await app({ issue: { claims: { sub: 'mallory' } }, endpoints: { onError: (e) => seen.push(e) } }, async ({ client }) => {
      const answer = await client.signIn('alice');
      assertError(answer, 500, 'ERR_CLAIMS_INVALID');
      assert.is(answer.body!.message, 'internal error');
      assert.is(answer.setCookie, undefined);
    });
    assert.is(seen.length, 1);
    assert.is((seen[0] as { code: string }).code, 'ERR_CLAIMS_INVALID');
  });

  // #19 §2: why a token was refused reaches the operator (onError), never the client.
  S('a refused refresh cookie or bearer token: onError gets the SessionError with its reason; the body and WWW-Authenticate keep the code\'s fixed text', async () => {
    const seen: unknown[] = [];
    await app({ endpoints: { onError: (e) => seen.push(e) } }, async ({ client, origin }) => {
      const me = assertSessionBody(await client.signIn('alice'));
      const stolen = client.cookie;
      assertSessionBody(await client.call('/auth/refresh'));
      const thief = new Client(origin);
      thief.cookie = stolen;
      const reused = await thief.call('/auth/refresh');
      assertError(reused, 401, 'ERR_REFRESH_TOKEN_REUSED');
      const forged = new Client(origin);
      forged.cookie = 'jwt-session-refresh=garbage';
      assertError(await forged.call('/auth/refresh'), 401, 'ERR_REFRESH_TOKEN_INVALID');
      const revoked = await client.call('/auth/sessions', { method: 'GET', bearer: me.accessToken });
      assertError(revoked, 401, 'ERR_SESSION_REVOKED');
      assert.is(revoked.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      for (const answer of [reused, revoked]) assert.not.ok(/reused|session_revoked|reason/.test(`${answer.text} ${[...answer.headers].join(' ')}`.replace(/ERR_[A-Z_]+/g, '')), 'a reason reached the client');
    });
    assert.equal(
      seen.map((e) => [(e as { code: string }).code, (e as { reason: string }).reason]),
      [
        ['ERR_REFRESH_TOKEN_REUSED', 'reused_previous'],
        ['ERR_REFRESH_TOKEN_INVALID', 'format'],
        ['ERR_SESSION_REVOKED', 'session_revoked'],
      ],
    );
  });

  S('an unexpected failure is 500 ERR_INTERNAL with fixed text; its cause goes to onError only, and a throwing onError changes nothing', async () => {
    for (const throwing of [false, true]) {
      const seen: unknown[] = [];
      const onError = throwing
        ? () => {
            throw new Error('logger down');
          }
        : (error: unknown) => void seen.push(error);
      await app({ endpoints: { onError } }, async ({ manager, client }) => {
        const me = assertSessionBody(await client.signIn('alice'));
        const leak = new Error('failed near refresh token abc.def.ghi');
        manager.readAll = async () => Promise.reject(leak);
        const answer = await client.call('/auth/sessions', { method: 'GET', bearer: me.accessToken });
        assertError(answer, 500, 'ERR_INTERNAL');
        assert.is(answer.body!.message, 'internal error');
        assert.not.ok(answer.text.includes('abc.def'));
        assert.equal(seen, throwing ? [] : [leak]);
      });
    }
  });

  S('paths: a query string does not matter; a malformed percent-encoding in a session id is a 404, not a crash', () =>
    app({}, async ({ client, origin }) => {
      await client.signIn('alice');
      assertSessionBody(await client.call('/auth/refresh?from=test'));
      const me = assertSessionBody(await client.call('/auth/refresh'));
      const res = await rawRequest(`${origin}/auth/sessions/%E0%A4%A`, 'DELETE', ['Authorization', `Bearer ${me.accessToken}`, 'X-JWT-Session', '1']);
      if (framework.name === 'Fastify') assert.is(res.status, 400, 'Fastify refuses a malformed URL itself, before routing');
      else assert.equal([res.status, res.body.error], [404, 'ERR_SESSION_NOT_FOUND']);
    }),
  );

  S('options are validated when the endpoints are built, naming the option', async () => {
    const cleanup = new Cleanup();
    const manager = makeManager(cleanup);
    try {
      const bad: Array<[unknown, unknown, string]> = [
        [undefined, {}, 'manager'],
        [{ read: () => undefined }, {}, 'manager'],
        [manager, { allowedOrigins: 'https://a.example' }, 'options.allowedOrigins'],
        [manager, { allowedOrigins: ['https://a.example/path'] }, 'options.allowedOrigins'],
        [manager, { basePath: 'auth' }, 'options.basePath'],
        [manager, { trustProxy: 'yes' }, 'options.trustProxy'],
        [manager, { cookie: { sameSite: 'strict' } }, 'options.cookie.sameSite'],
        [manager, { cookie: { prefix: '__Host-' } }, 'options.cookie.prefix'],
        [manager, { cookie: { name: 'a b' } }, 'options.cookie.name'],
        [manager, { csrfHeader: 'x y' }, 'options.csrfHeader'],
      ];
      for (const [m, options, name] of bad) {
        await framework.construct(m, options).then(
          () => assert.unreachable(`accepted ${JSON.stringify(options)}`),
          (error: { code?: string; message: string }) => {
            assert.is(error.code, 'ERR_CONFIG_INVALID', `${name}: ${error.message}`);
            assert.ok(error.message.startsWith(`${name} `), `"${error.message}" names ${name}`);
          },
        );
      }
      await framework.construct(manager, { basePath: '/', allowedOrigins: [], cookie: { secure: 'auto' } });
    } finally {
      await cleanup.run();
    }
  });

  S.run();
}

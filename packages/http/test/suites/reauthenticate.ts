import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Framework } from '../support.js';
import { assertError, assertSessionBody, withApp, type Ctx, type Setup } from './endpoints.js';

/*
 * Issue #22: `POST {base}/reauthenticate` (ENDPOINTS.md), run once per
 * framework: the app's credential check, then the same session stamped fresh
 * and rotated, answered like refresh; "my sessions" shows how and when each
 * session last authenticated.
 */
export function reauthenticateSuite(framework: Framework): void {
  const S = suite(`POST {base}/reauthenticate (${framework.name})`);
  const app = (setup: Setup, run: (ctx: Ctx) => Promise<void>) => withApp(framework, setup, run);
  const clock = { now: Date.now() };
  const at = (ms: number) => Math.floor(ms / 1000);

  S('the right password: 200 like refresh, the same session with a new auth_time and amr; the old cookie is spent; other sessions untouched', () =>
    app({ manager: { clock: () => clock.now, refreshTokenReuseInterval: 0, accessTokenTtl: 7200 } }, async ({ manager, client }) => {
      clock.now = Date.now();
      const signIn = assertSessionBody(await client.signIn('alice'));
      const otherDevice = await manager.create('alice', { amr: ['hwk'] });
      const before = await manager.read(signIn.accessToken);
      const oldCookie = client.cookie!;
      clock.now += 3_600_000; // an hour later: not fresh under a five-minute rule
      const answer = await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, headers: { 'x-password': 'wonderland', 'x-otp': '123456' } });
      const body = assertSessionBody(answer);
      assert.is(body.sessionId, signIn.sessionId, 'the same session');
      assert.ok(answer.setCookie !== undefined && client.cookie !== oldCookie, 'a new refresh cookie');
      const claims = await manager.read(body.accessToken);
      assert.is(before.auth_time, at(clock.now - 3_600_000));
      assert.is(claims.auth_time, at(clock.now));
      assert.equal([claims.amr, claims.acr], [['pwd', 'otp'], 'loa2']);
      // The new cookie refreshes; the old one is a spent refresh token: reuse.
      assertSessionBody(await client.call('/auth/refresh'));
      const stale = await client.call('/auth/refresh', { cookie: false, headers: { cookie: oldCookie } });
      assertError(stale, 401, 'ERR_REFRESH_TOKEN_REUSED');
      // The other device kept its own authentication.
      assert.is((await manager.read(otherDevice.accessToken)).auth_time, at(clock.now - 3_600_000));
    }),
  );

  S('a wrong password: 401 ERR_CREDENTIALS_INVALID, nothing rotated (the cookie still refreshes)', () =>
    app({}, async ({ client }) => {
      const signIn = assertSessionBody(await client.signIn('alice'));
      const cookie = client.cookie;
      const wrong = await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, headers: { 'x-password': 'guess' } });
      assertError(wrong, 401, 'ERR_CREDENTIALS_INVALID');
      assert.is(wrong.setCookie, undefined);
      assert.is(client.cookie, cookie);
      assertSessionBody(await client.call('/auth/refresh'));
      // The app's check throws: 500, the cause to onError only, nothing rotated.
      const broken = await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, headers: { 'x-password': 'throw' } });
      assertError(broken, 500, 'ERR_INTERNAL');
      assert.not.ok(broken.text.includes('down'));
      assertSessionBody(await client.call('/auth/refresh'));
    }),
  );

  S('refused before any check: no CSRF header (403), no access token (401), no refresh cookie (401), another session\'s cookie (401)', () =>
    app({}, async ({ client, manager }) => {
      const signIn = assertSessionBody(await client.signIn('alice'));
      const password = { 'x-password': 'wonderland' };
      assertError(await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, csrf: false, headers: password }), 403, 'ERR_CSRF');
      const noBearer = await client.call('/auth/reauthenticate', { headers: password });
      assertError(noBearer, 401, 'ERR_AUTH_TOKEN_REQUIRED');
      assertError(await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, cookie: false, headers: password }), 401, 'ERR_REFRESH_TOKEN_INVALID');
      // Another session's access token with this cookie: the cookie is not that session's.
      const other = await manager.create('alice');
      const mixed = await client.call('/auth/reauthenticate', { bearer: other.accessToken, headers: password });
      assertError(mixed, 401, 'ERR_REFRESH_TOKEN_INVALID');
    }),
  );

  S('GET {base}/sessions shows when and how each session last authenticated, and no token', () =>
    app({}, async ({ client, manager }) => {
      const signIn = assertSessionBody(await client.signIn('alice'));
      const body = assertSessionBody(await client.call('/auth/reauthenticate', { bearer: signIn.accessToken, headers: { 'x-password': 'wonderland', 'x-otp': '123456' } }));
      await manager.create('alice', { authTime: at(Date.now()) - 86_400, amr: ['hwk'], acr: 'loa3' });
      const listed = await client.call('/auth/sessions', { method: 'GET', bearer: body.accessToken });
      assert.is(listed.status, 200);
      const sessions = (listed.body as { sessions: Record<string, unknown>[] }).sessions;
      const mine = sessions.find((s) => s.current === true)!;
      const other = sessions.find((s) => s.current === false)!;
      assert.equal([mine.amr, mine.acr], [['pwd', 'otp'], 'loa2']);
      assert.ok(Math.abs((mine.authTime as number) - at(Date.now())) <= 2);
      assert.equal([other.authTime, other.amr, other.acr], [at(Date.now()) - 86_400, ['hwk'], 'loa3']);
      assert.not.ok(listed.text.includes(body.accessToken) || listed.text.includes(String(client.cookie).split('=')[1]!), 'no token in the list');
    }),
  );

  S.run();
}

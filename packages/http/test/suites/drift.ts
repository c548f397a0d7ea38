import { SESSION_DEVICE_CHANGED, type SessionEvents } from '@jwt-session/session-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EndpointRequest } from '../../src/index.js';
import type { Framework } from '../support.js';
import { assertError, assertSessionBody, withApp, type Setup } from './endpoints.js';

/*
 * Issue #22, drift: the endpoints' `device` option hands the client's device
 * to create() at sign-in and to update() at every refresh, so the manager's
 * `drift` policy sees a refresh from another network. The network comes from
 * a header here (every test request comes from 127.0.0.1).
 */
export function driftSuite(framework: Framework): void {
  const S = suite(`drift through the endpoints (${framework.name})`);
  const device = (req: EndpointRequest) => ({ summary: 'Firefox on macOS', network: String(req.headers['x-network'] ?? 'none') });
  const from = (network: string) => ({ headers: { 'x-network': network } });
  const app = (setup: Setup, run: Parameters<typeof withApp>[2]) => withApp(framework, { ...setup, endpoints: { device } }, run);

  S("'observe': a refresh from another network succeeds, emits sessionDeviceChanged, and its token carries nothing of it", () =>
    app({ manager: { drift: 'observe' } }, async ({ manager, client }) => {
      const seen: SessionEvents['sessionDeviceChanged'][] = [];
      manager.on(SESSION_DEVICE_CHANGED, (e) => seen.push(e));
      const signIn = assertSessionBody(await client.signIn('alice', from('203.0.113.0/24')));
      assertSessionBody(await client.call('/auth/refresh', from('203.0.113.0/24')));
      assert.equal(seen, []);
      assertSessionBody(await client.call('/auth/refresh', from('198.51.100.0/24')));
      assert.equal(seen.map((e) => [e.sessionId, e.changed, e.revoked]), [[signIn.sessionId, ['network'], false]]);
    }),
  );

  S("'revoke': a refresh from another network is 401 ERR_REFRESH_TOKEN_INVALID, the cookie cleared, the session's access tokens refused", () =>
    app({ manager: { drift: 'revoke' } }, async ({ manager, client }) => {
      const signIn = assertSessionBody(await client.signIn('alice', from('203.0.113.0/24')));
      const refused = await client.call('/auth/refresh', from('198.51.100.0/24'));
      assertError(refused, 401, 'ERR_REFRESH_TOKEN_INVALID');
      assert.match(refused.setCookie ?? '', /Max-Age=0/i);
      assert.is(client.cookie, undefined);
      try {
        await manager.read(signIn.accessToken);
        assert.unreachable('the access token still reads');
      } catch (error) {
        assert.is((error as { code?: string }).code, 'ERR_SESSION_REVOKED');
      }
    }),
  );

  S("'refresh': the access token is issued for the network of the request that got it (sign-in, then the refresh from elsewhere)", () =>
    app({ manager: { drift: 'refresh' } }, async ({ manager, client }) => {
      const home = assertSessionBody(await client.signIn('alice', from('203.0.113.0/24')));
      const claims = await manager.read(home.accessToken);
      manager.checkNetwork(claims, '203.0.113.0/24');
      assert.throws(() => manager.checkNetwork(claims, '198.51.100.0/24'), (e: { reason?: string }) => e.reason === 'drift');
      const cafe = assertSessionBody(await client.call('/auth/refresh', from('198.51.100.0/24')));
      manager.checkNetwork(await manager.read(cafe.accessToken), '198.51.100.0/24');
    }),
  );

  S.run();
}

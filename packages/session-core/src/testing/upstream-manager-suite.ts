import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_INVALIDATED, type SessionEvents } from '../events.js';
import { JwtUserSessionManager } from '../manager.js';
import { TEST_SECRET, rejectsWith, type StorageFixture } from './manager-suite.js';

const IDP = 'https://idp.example.com';

interface Ctx {
  fx: StorageFixture;
  now: number;
  manager: JwtUserSessionManager;
}

/**
 * `revokeUpstream` over a storage whose store implements `findUpstream`
 * (issue 26 §1): a provider's logout ends exactly the sessions opened for
 * that provider session (or user), through the usual revocation path, says
 * how many, and is harmless when repeated.
 */
export function testUpstreamRevocation(name: string, factory: () => Promise<StorageFixture>): void {
  const S = suite<Ctx>(`${name}: JwtUserSessionManager.revokeUpstream over this storage`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.now = Date.now();
    ctx.manager = new JwtUserSessionManager({
      keys: { kid: 'k1', algorithm: 'HS256', secret: TEST_SECRET },
      issuer: 'https://issuer.test',
      audience: 'api',
      refreshTokenStore: ctx.fx.refreshTokenStore,
      invalidAccessTokenCache: ctx.fx.invalidAccessTokenCache,
      clock: () => ctx.now,
    });
  });
  S.after.each(async (ctx) => {
    await ctx.manager.close();
    await ctx.fx.close();
  });

  S('ending one provider session ends its linked session only; twice is harmless', async (ctx) => {
    const m = ctx.manager;
    const a = await m.create('alice', { upstream: { issuer: IDP, subject: 'idp-1', sessionId: 'sid-A' } });
    const b = await m.create('alice', { upstream: { issuer: IDP, subject: 'idp-1', sessionId: 'sid-B' } });
    const plain = await m.create('alice');
    const events: SessionEvents['sessionInvalidated'][] = [];
    m.on(SESSION_INVALIDATED, (event) => events.push(event));
    assert.is(await m.revokeUpstream({ issuer: IDP, sessionId: 'sid-A' }), 1);
    await rejectsWith(m.read(a.accessToken), 'ERR_SESSION_REVOKED', 'the ended session’s access token');
    ctx.now += 1000;
    const refused = await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_INVALID', 'the ended session’s refresh');
    assert.is(refused.reason, 'unknown_session');
    assert.is((await m.read(b.accessToken)).sid, b.sessionId);
    assert.is((await m.update(b.refreshToken)).sessionId, b.sessionId);
    assert.is((await m.read(plain.accessToken)).sid, plain.sessionId);
    assert.ok(events.some((e) => e.sessionId === a.sessionId), 'no sessionInvalidated event for the ended session');
    assert.is(await m.revokeUpstream({ issuer: IDP, sessionId: 'sid-A' }), 0, 'a repeated logout ended something');
    assert.equal((await m.readAll('alice')).map((s) => s.sessionId).sort(), [b.sessionId, plain.sessionId].sort());
  });

  S('ending a provider user ends every session linked to it, of every local subject, and no other', async (ctx) => {
    const m = ctx.manager;
    const a = await m.create('alice', { upstream: { issuer: IDP, subject: 'idp-1', sessionId: 'sid-A' } });
    const b = await m.create('alice', { upstream: { issuer: IDP, subject: 'idp-1' } });
    const c = await m.create('alice-admin', { upstream: { issuer: IDP, subject: 'idp-1', sessionId: 'sid-C' } });
    const otherUser = await m.create('bob', { upstream: { issuer: IDP, subject: 'idp-2', sessionId: 'sid-D' } });
    const otherIdp = await m.create('alice', { upstream: { issuer: 'https://other.example', subject: 'idp-1', sessionId: 'sid-A' } });
    assert.is(await m.revokeUpstream({ issuer: IDP, subject: 'idp-1' }), 3);
    for (const t of [a, b, c]) await rejectsWith(m.read(t.accessToken), 'ERR_SESSION_REVOKED');
    assert.is((await m.read(otherUser.accessToken)).sub, 'bob');
    assert.is((await m.read(otherIdp.accessToken)).sid, otherIdp.sessionId);
    assert.is(await m.revokeUpstream({ issuer: IDP, subject: 'idp-1' }), 0);
  });

  S('readAll shows which provider each session came from', async (ctx) => {
    const m = ctx.manager;
    const linked = await m.create('alice', { upstream: { issuer: IDP, subject: 'idp-1', sessionId: 'sid-A' } });
    ctx.now += 1000;
    const plain = await m.create('alice');
    const [first, second] = await m.readAll('alice');
    assert.is(first!.sessionId, plain.sessionId);
    assert.is(first!.upstream, undefined);
    assert.is(second!.sessionId, linked.sessionId);
    assert.equal(second!.upstream, { issuer: IDP, subject: 'idp-1', sessionId: 'sid-A' });
  });

  S('create refuses a bad upstream before storing anything (ERR_CLAIMS_INVALID, reason upstream)', async (ctx) => {
    const m = ctx.manager;
    for (const upstream of [{ issuer: IDP }, { issuer: IDP, subject: '' }, 'idp', { issuer: IDP, subject: 'u', sessionId: 7 }]) {
      const error = await rejectsWith(m.create('alice', { upstream: upstream as never }), 'ERR_CLAIMS_INVALID');
      assert.is(error.reason, 'upstream');
    }
    const error = await rejectsWith(m.revokeUpstream({ issuer: IDP } as never), 'ERR_CLAIMS_INVALID');
    assert.is(error.reason, 'upstream');
    assert.equal(await m.readAll('alice'), []);
  });

  S.run();
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError } from '../errors.js';
import { REFRESH_TOKEN_REUSED, SESSION_INVALIDATED, type SessionEvents } from '../events.js';
import { JwtUserSessionManager } from '../manager.js';
import type { JwtUserSessionManagerOptions } from '../options.js';
import type { InvalidAccessTokenCache, RefreshTokenStore } from '../storage.js';

export interface StorageFixture {
  refreshTokenStore: RefreshTokenStore;
  invalidAccessTokenCache: InvalidAccessTokenCache;
  close: () => Promise<void>;
}

export const TEST_SECRET = 'conformance-suite-hmac-secret-0123456789';

/** Rejects with a SessionError of exactly this code. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: string): Promise<SessionError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, SessionError, message);
    assert.is((error as SessionError).code, code, message);
    return error as SessionError;
  }
  assert.unreachable(`expected ${code}${message ? `: ${message}` : ''}`);
  throw new Error('unreachable');
}

interface Ctx {
  fx: StorageFixture;
  now: number;
  managers: JwtUserSessionManager[];
  make: (options?: Partial<JwtUserSessionManagerOptions>) => JwtUserSessionManager;
}

/**
 * The manager's semantics over a given storage: rotation, reuse detection,
 * grace, concurrency, deletion, expiry and the cap, each observed through the
 * public API only. Time is a controlled clock starting at the real now.
 */
export function testManagerOverStorage(name: string, factory: () => Promise<StorageFixture>): void {
  const S = suite<Ctx>(`${name}: JwtUserSessionManager over this storage`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.now = Date.now();
    ctx.managers = [];
    ctx.make = (options = {}) => {
      const m = new JwtUserSessionManager({
        keys: { kid: 'k1', algorithm: 'HS256', secret: TEST_SECRET },
        issuer: 'https://issuer.test',
        audience: 'api',
        refreshTokenStore: ctx.fx.refreshTokenStore,
        invalidAccessTokenCache: ctx.fx.invalidAccessTokenCache,
        clock: () => ctx.now,
        ...options,
      });
      ctx.managers.push(m);
      return m;
    };
  });
  S.after.each(async (ctx) => {
    for (const m of ctx.managers) await m.close();
    await ctx.fx.close();
  });

  S('create → read → update → readAll → deleteOne → deleteAll', async (ctx) => {
    const m = ctx.make();
    const a = await m.create('alice', { claims: { roles: ['admin'] }, context: { ip: '203.0.113.1', userAgent: 'ua' } });
    const claims = await m.read(a.accessToken);
    assert.is(claims.sub, 'alice');
    assert.is(claims.sid, a.sessionId);
    assert.equal(claims.roles, ['admin']);
    ctx.now += 1000;
    const b = await m.update(a.refreshToken);
    assert.is(b.sessionId, a.sessionId);
    assert.is.not(b.refreshToken, a.refreshToken);
    assert.is((await m.read(b.accessToken)).sid, a.sessionId);
    const list = await m.readAll('alice');
    assert.is(list.length, 1);
    assert.is(list[0]!.lastRefreshedAt, Math.floor(ctx.now / 1000));
    assert.equal(list[0]!.context, { ip: '203.0.113.1', userAgent: 'ua' });
    assert.is(await m.deleteOne('alice', a.sessionId), true);
    await rejectsWith(m.read(b.accessToken), 'ERR_SESSION_REVOKED');
    await m.create('alice');
    assert.is(await m.deleteAll('alice'), 1);
    assert.equal(await m.readAll('alice'), []);
  });

  S('rotation keeps the absolute expiry and slides the idle deadline', async (ctx) => {
    const m = ctx.make({ refreshTokenTtl: 3600, refreshTokenIdleTtl: 600 });
    const a = await m.create('alice');
    assert.is(a.refreshTokenExpiresAt, Math.ceil((ctx.now + 600_000) / 1000));
    ctx.now += 500_000;
    const b = await m.update(a.refreshToken);
    assert.is(b.refreshTokenExpiresAt, Math.ceil((ctx.now + 600_000) / 1000), 'idle deadline did not slide');
    ctx.now += 600_000;
    await rejectsWith(m.update(b.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED');
  });

  S('rotation never extends the absolute lifetime', async (ctx) => {
    const m = ctx.make({ refreshTokenTtl: 3600, accessTokenTtl: 900 });
    const start = ctx.now;
    let t = await m.create('alice');
    for (let i = 0; i < 5; i++) {
      ctx.now += 600_000;
      t = await m.update(t.refreshToken);
      assert.is(t.refreshTokenExpiresAt, Math.ceil((start + 3_600_000) / 1000));
      assert.ok(t.accessTokenExpiresAt <= t.refreshTokenExpiresAt, 'an access token outlives its session');
    }
    ctx.now = start + 3_600_000;
    await rejectsWith(m.update(t.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED');
  });

  // Guards defect #10.1: the memory store read generation 13 back as 0, so a genuine token 16 rotations old was answered as invalid and the session survived.
  S('a genuine token many rotations old is reuse on every store: the session is revoked', async (ctx) => {
    const m = ctx.make();
    const first = await m.create('alice');
    let t = first;
    for (let i = 0; i < 16; i++) {
      ctx.now += 1000;
      t = await m.update(t.refreshToken);
    }
    assert.is((await rejectsWith(m.update(first.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_ancestor');
    await rejectsWith(m.read(t.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.update(t.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
  });

  S('a rotated-out refresh token revokes the whole session', async (ctx) => {
    const m = ctx.make();
    const events: Array<SessionEvents['sessionInvalidated'] | SessionEvents['refreshTokenReused']> = [];
    m.on(SESSION_INVALIDATED, (e) => events.push(e));
    m.on(REFRESH_TOKEN_REUSED, (e) => events.push(e));
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    assert.is((await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_previous');
    await rejectsWith(m.update(b.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
    await rejectsWith(m.read(a.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.read(b.accessToken), 'ERR_SESSION_REVOKED');
    assert.equal(await m.readAll('alice'), []);
    assert.equal(events, [
      { subject: 'alice', sessionId: a.sessionId, kind: 'previous', revoked: true },
      { subject: 'alice', sessionId: a.sessionId, reason: 'reused', at: ctx.now, origin: 'local' },
    ]);
  });

  // Issue 22: inside the interval only the immediately previous token gets the successor (a peer answered tokens several generations old).
  S('a token two rotations old is reuse (an ancestor), even inside the reuse interval; the previous one there gets the successor', async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 30 });
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    const c = await m.update(b.refreshToken);
    ctx.now += 1000;
    assert.is((await m.update(b.refreshToken)).refreshToken, c.refreshToken, 'the previous token inside the interval');
    const reused = await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    assert.is(reused.reason, 'reused_ancestor');
    await rejectsWith(m.read(c.accessToken), 'ERR_SESSION_REVOKED');
  });

  S("refreshTokenReusePolicy { previous: 'refuse' }: a lost response refuses the old token and keeps the session", async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 5, refreshTokenReusePolicy: { previous: 'refuse' } });
    const events: SessionEvents['refreshTokenReused'][] = [];
    m.on(REFRESH_TOKEN_REUSED, (e) => events.push(e));
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    ctx.now += 5001;
    assert.is((await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_previous');
    assert.equal(events, [{ subject: 'alice', sessionId: a.sessionId, kind: 'previous', revoked: false }]);
    assert.is((await m.read(b.accessToken)).sid, a.sessionId, 'the session was revoked');
    const c = await m.update(b.refreshToken);
    // An ancestor still revokes (the default for the kinds not named).
    assert.is((await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_ancestor');
    await rejectsWith(m.read(c.accessToken), 'ERR_SESSION_REVOKED');
    assert.equal(events[1], { subject: 'alice', sessionId: a.sessionId, kind: 'ancestor', revoked: true });
  });

  S("refreshTokenReusePolicy { ancestor: 'refuse' }: an old token is refused, the session and its current token live on", async (ctx) => {
    const m = ctx.make({ refreshTokenReusePolicy: { ancestor: 'refuse' } });
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    const c = await m.update(b.refreshToken);
    assert.is((await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_ancestor');
    await m.read(c.accessToken);
    const d = await m.update(c.refreshToken);
    // The previous kind still revokes.
    assert.is((await rejectsWith(m.update(c.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_previous');
    await rejectsWith(m.read(d.accessToken), 'ERR_SESSION_REVOKED');
  });

  S('a forged secret for a real session is invalid and leaves the session alone', async (ctx) => {
    const m = ctx.make();
    const a = await m.create('alice');
    const [sid, deadline, , mac] = a.refreshToken.split('.');
    const forged = `${sid}.${deadline}.${'A'.repeat(43)}.${mac}`;
    await rejectsWith(m.update(forged), 'ERR_REFRESH_TOKEN_INVALID');
    const b = await m.update(a.refreshToken);
    assert.ok((await m.read(b.accessToken)).sid === a.sessionId);
  });

  S('two tabs refreshing with one token inside the interval share one successor that keeps working', async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 5 });
    const a = await m.create('alice');
    const tabA = await m.update(a.refreshToken);
    ctx.now += 2000;
    const tabB = await m.update(a.refreshToken);
    assert.is(tabB.refreshToken, tabA.refreshToken);
    assert.is(tabB.sessionId, tabA.sessionId);
    await m.read(tabB.accessToken);
    ctx.now += 1000;
    const next = await m.update(tabB.refreshToken);
    await m.read(next.accessToken);
  });

  S('the previous token after the interval is reuse', async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 5 });
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    ctx.now += 5001;
    await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    await rejectsWith(m.read(b.accessToken), 'ERR_SESSION_REVOKED');
  });

  S('100 concurrent updates of one token: exactly one pair, every other a SessionError', async (ctx) => {
    const m = ctx.make();
    const a = await m.create('alice');
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => m.update(a.refreshToken)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.is(ok.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, SessionError);
  });

  S('100 concurrent updates inside the interval: all valid pairs, session never revoked', async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 10 });
    const a = await m.create('alice');
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => m.update(a.refreshToken)));
    const pairs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, SessionError);
    assert.ok(pairs.length >= 1);
    assert.is(new Set(pairs.map((p) => p.refreshToken)).size, 1, 'different successors handed out');
    for (const p of pairs) await m.read(p.accessToken);
    assert.is((await m.readAll('alice')).length, 1);
    await m.update(pairs[0]!.refreshToken);
  });

  S('deleteOne ends one session at once and leaves the others', async (ctx) => {
    const m = ctx.make();
    const a = await m.create('alice');
    const b = await m.create('alice');
    const bob = await m.create('bob');
    assert.is(await m.deleteOne('bob', a.sessionId), false, 'deleted another subject’s session');
    await m.read(a.accessToken);
    assert.is(await m.deleteOne('alice', a.sessionId), true);
    await rejectsWith(m.read(a.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
    await m.read(b.accessToken);
    await m.read(bob.accessToken);
    assert.is(await m.deleteOne('alice', a.sessionId), false);
    assert.is(await m.deleteOne('alice', 'not a session id'), false);
  });

  S('deleteAll rejects every earlier token; a session created right after works', async (ctx) => {
    const m = ctx.make({ clock: Date.now });
    const a = await m.create('alice');
    const b = await m.update(a.refreshToken);
    assert.is(await m.deleteAll('alice'), 1);
    await rejectsWith(m.read(a.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.read(b.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.update(b.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
    const fresh = await m.create('alice');
    assert.is((await m.read(fresh.accessToken)).sid, fresh.sessionId);
    assert.is(Math.floor(Date.now() / 1000) - (await m.read(fresh.accessToken)).iat <= 1, true);
  });

  S('readAll lists live sessions only, newest first', async (ctx) => {
    const m = ctx.make({ refreshTokenTtl: 100 });
    const old = await m.create('alice', { context: { device: 'old' } });
    ctx.now += 60_000;
    const mid = await m.create('alice', { context: { device: 'mid' } });
    ctx.now += 1;
    const last = await m.create('alice', { context: { device: 'new' } });
    assert.equal((await m.readAll('alice')).map((s) => s.sessionId), [last.sessionId, mid.sessionId, old.sessionId]);
    ctx.now += 40_000;
    assert.equal((await m.readAll('alice')).map((s) => s.context.device), ['new', 'mid']);
    const text = JSON.stringify(await m.readAll('alice'));
    for (const t of [mid, last]) {
      assert.not.ok(text.includes(t.refreshToken.split('.')[2]!), 'readAll leaks a refresh secret');
      assert.not.ok(text.includes(t.accessToken));
    }
  });

  S('the per-subject cap evicts the oldest session and revokes its access tokens', async (ctx) => {
    const m = ctx.make({ maxSessionsPerSubject: 2 });
    const evicted: string[] = [];
    m.on(SESSION_INVALIDATED, (e) => e.reason === 'evicted' && evicted.push(e.sessionId));
    const a = await m.create('alice');
    ctx.now += 1;
    const b = await m.create('alice');
    ctx.now += 1;
    const c = await m.create('alice');
    assert.equal(evicted, [a.sessionId]);
    await rejectsWith(m.read(a.accessToken), 'ERR_SESSION_REVOKED');
    await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
    await m.read(b.accessToken);
    await m.read(c.accessToken);
    assert.is((await m.readAll('alice')).length, 2);
  });

  S('an expired refresh token says so', async (ctx) => {
    const m = ctx.make({ refreshTokenTtl: 60 });
    const a = await m.create('alice');
    ctx.now += 61_000;
    await rejectsWith(m.update(a.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED');
  });

  // Issue #21: the store keeps a session's DPoP binding (in its claims, as cnf) through every rotation and a claims update.
  S('a DPoP-bound session keeps its binding through rotations; a refresh without the key leaves it intact', async (ctx) => {
    const m = ctx.make();
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const a = await m.create('alice', { claims: { role: 'admin' }, context: { ip: '203.0.113.1' }, dpop: { jkt } });
    assert.equal((await m.read(a.accessToken)).cnf, { jkt });
    assert.equal((await m.readAll('alice'))[0]!.dpop, { jkt });
    await rejectsWith(m.update(a.refreshToken), 'ERR_DPOP_BINDING_MISMATCH');
    await rejectsWith(m.update(a.refreshToken, { dpop: { jkt: jkt.replace('N', 'M') } }), 'ERR_DPOP_BINDING_MISMATCH');
    ctx.now += 1000;
    const b = await m.update(a.refreshToken, { dpop: { jkt } });
    ctx.now += 1000;
    const c = await m.update(b.refreshToken, { claims: { role: 'reader' }, dpop: { jkt } });
    ctx.now += 1000;
    const d = await m.update(c.refreshToken, { dpop: { jkt } });
    const claims = await m.read(d.accessToken);
    assert.equal([claims.role, claims.cnf], ['reader', { jkt }]);
    const [session] = await m.readAll('alice');
    assert.equal([session!.dpop, session!.context.ip], [{ jkt }, '203.0.113.1']);
    await rejectsWith(m.update(d.refreshToken), 'ERR_DPOP_BINDING_MISMATCH');
    // An unbound session beside it stays unbound.
    const plain = await m.create('alice');
    assert.is((await m.read((await m.update(plain.refreshToken)).accessToken)).cnf, undefined);
  });

  S('how the user authenticated rides in every access token, survives refreshes (claims updates too), and reauthenticate() restamps it', async (ctx) => {
    const m = ctx.make({ refreshTokenReuseInterval: 0 });
    const signedIn = Math.floor(ctx.now / 1000) - 3600;
    const a = await m.create('alice', { authTime: signedIn, amr: ['pwd'], acr: 'loa1', claims: { roles: ['user'] }, context: { ip: '203.0.113.1' } });
    const other = await m.create('alice', { amr: ['pwd'] });
    let claims = await m.read(a.accessToken);
    assert.is(claims.auth_time, signedIn);
    assert.equal(claims.amr, ['pwd']);
    assert.is(claims.acr, 'loa1');
    // A refresh is not an authentication: auth_time stays, also when the claims and the context are replaced.
    ctx.now += 60_000;
    const b = await m.update(a.refreshToken, { claims: { roles: ['admin'] }, context: { ip: '203.0.113.2' } });
    claims = await m.read(b.accessToken);
    assert.is(claims.auth_time, signedIn, 'a refresh with new claims kept auth_time');
    assert.equal(claims.amr, ['pwd']);
    assert.equal(claims.roles, ['admin']);
    // The app checked a password and a one-time code again.
    ctx.now += 60_000;
    const c = await m.reauthenticate('alice', a.sessionId, { refreshToken: b.refreshToken, amr: ['pwd', 'otp'], acr: 'loa2' });
    assert.is(c.sessionId, a.sessionId, 'the same session');
    claims = await m.read(c.accessToken);
    assert.is(claims.auth_time, Math.floor(ctx.now / 1000));
    assert.equal(claims.amr, ['pwd', 'otp']);
    assert.is(claims.acr, 'loa2');
    assert.equal(claims.roles, ['admin'], 'the claims are kept');
    const listed = await m.readAll('alice');
    const mine = listed.find((s) => s.sessionId === a.sessionId)!;
    assert.equal([mine.authTime, mine.amr, mine.acr], [Math.floor(ctx.now / 1000), ['pwd', 'otp'], 'loa2']);
    assert.equal(mine.context, { ip: '203.0.113.2' }, 'the authentication is not shown twice, in the context too');
    const theirs = listed.find((s) => s.sessionId === other.sessionId)!;
    assert.equal([theirs.authTime, theirs.amr, theirs.acr], [Math.floor((ctx.now - 120_000) / 1000), ['pwd'], undefined], 'the other session is untouched');
    // The refresh token it was given is spent: presenting it again is reuse.
    const next = await m.update(c.refreshToken);
    assert.is((await m.read(next.accessToken)).acr, 'loa2', 'the stamp survives the next refresh');
    await rejectsWith(m.update(b.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
    await m.read(other.accessToken);
  });

  S('reauthenticate() refuses another subject\'s session, a session that is gone, and a refresh token of another session', async (ctx) => {
    const m = ctx.make();
    const a = await m.create('alice');
    const b = await m.create('alice');
    const c = await m.create('carol');
    await rejectsWith(m.reauthenticate('carol', a.sessionId, { refreshToken: a.refreshToken, amr: ['pwd'] }), 'ERR_REFRESH_TOKEN_INVALID', 'another subject');
    await rejectsWith(m.reauthenticate('alice', a.sessionId, { refreshToken: b.refreshToken, amr: ['pwd'] }), 'ERR_REFRESH_TOKEN_INVALID', 'another session\'s refresh token');
    await m.deleteOne('alice', a.sessionId);
    await rejectsWith(m.reauthenticate('alice', a.sessionId, { refreshToken: a.refreshToken, amr: ['pwd'] }), 'ERR_SESSION_REVOKED', 'a revoked session');
    await m.read(b.accessToken);
    await m.read(c.accessToken);
  });

  S('read() never touches the refresh-token store', async (ctx) => {
    let calls = 0;
    const store = ctx.fx.refreshTokenStore;
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (...args: unknown[]) => (calls++, value.apply(target, args)) : value;
      },
    });
    const m = ctx.make({ refreshTokenStore: counted });
    const a = await m.create('alice');
    calls = 0;
    for (let i = 0; i < 10; i++) await m.read(a.accessToken);
    await rejectsWith(m.read(a.accessToken + 'x'), 'ERR_AUTH_TOKEN_INVALID');
    assert.is(calls, 0);
  });

  S.run();
}

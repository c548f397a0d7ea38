import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AUTHENTICATION_CONTEXT_KEY, checkFreshness, checkFreshnessRequirement, freshnessChallenge, jwkThumbprint } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { DEFAULT_KEY } from './dpop-helpers.js';
import { codeOf, harness, type Harness } from './helpers.js';

/*
 * Issue #22, "Fresh authentication and step-up", in session-core: what
 * create() records, what the tokens carry, the step-up rule (RFC 9470) and its
 * challenge. The stores' side (a refresh keeps it, reauthenticate restamps it)
 * is the conformance suite's (src/testing/manager-suite.ts), run on memory,
 * Redis and PostgreSQL.
 */
const S = suite<{ h: Harness }>('freshness');
S.before.each((ctx) => {
  ctx.h = harness();
});
S.after.each(async (ctx) => {
  await ctx.h.close();
});

const seconds = (ms: number) => Math.floor(ms / 1000);

S('auth_time defaults to now; amr and acr are carried only when given; duplicates of amr are dropped', async ({ h }) => {
  const plain = await h.manager.read((await h.manager.create('alice')).accessToken);
  assert.is(plain.auth_time, seconds(h.clock.now));
  assert.not.ok('amr' in plain);
  assert.not.ok('acr' in plain);
  const rich = await h.manager.read((await h.manager.create('alice', { amr: ['pwd', 'otp', 'pwd'], acr: 'urn:example:loa:2', authTime: seconds(h.clock.now) - 30.7 })).accessToken);
  assert.equal(rich.amr, ['pwd', 'otp']);
  assert.is(rich.acr, 'urn:example:loa:2');
  assert.is(rich.auth_time, seconds(h.clock.now) - 31, 'rounded down to whole seconds');
});

S('a sign-in that says nothing of the authentication stores nothing: auth_time is the session\'s creation, in tokens and readAll', async ({ h }) => {
  const a = await h.manager.create('alice', { context: { ip: '203.0.113.9' } });
  const created = seconds(h.clock.now);
  h.clock.now += 90_000;
  const b = await h.manager.update(a.refreshToken);
  assert.is((await h.manager.read(b.accessToken)).auth_time, created, 'a refresh keeps it');
  const [info] = await h.manager.readAll('alice');
  assert.equal([info!.authTime, info!.amr, info!.acr, info!.context], [created, undefined, undefined, { ip: '203.0.113.9' }]);
});

S('claims a store hands back under the reserved names never reach a token: the session\'s authentication does', async () => {
  const inner = harness();
  // A store whose rotate answers claims the manager never lets in (a tampered or foreign store).
  const store = new Proxy(inner.store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'rotate') return typeof value === 'function' ? value.bind(target) : value;
      return async (request: unknown) => {
        const result = await target.rotate(request as never);
        if ('session' in result) result.session = { ...result.session, claims: { ...result.session.claims, auth_time: 1, amr: 'forged', acr: 'x', ['__proto__']: { admin: true } } };
        return result;
      };
    },
  });
  const h = harness({ refreshTokenStore: store, clock: () => inner.clock.now });
  try {
    const a = await h.manager.create('alice', { amr: ['pwd'], claims: { roles: ['user'] } });
    const claims = await h.manager.read((await h.manager.update(a.refreshToken)).accessToken);
    assert.equal([claims.auth_time, claims.amr, claims.acr, claims.roles], [seconds(inner.clock.now), ['pwd'], undefined, ['user']]);
    assert.ok(Object.hasOwn(claims, '__proto__'), '__proto__ stays an own claim');
  } finally {
    await h.close();
    await inner.close();
  }
});

S('bad authentication input is ERR_CLAIMS_INVALID, and nothing is stored', async ({ h }) => {
  const now = seconds(h.clock.now);
  const bad: [string, object][] = [
    ['authTime in the future', { authTime: now + 3600 }],
    ['authTime not a number', { authTime: '2026-12-07' }],
    ['authTime negative', { authTime: -1 }],
    ['authTime NaN', { authTime: Number.NaN }],
    ['amr not an array', { amr: 'pwd' }],
    ['amr with a space', { amr: ['pwd otp'] }],
    ['amr with a quote', { amr: ['p"wd'] }],
    ['amr too long', { amr: Array.from({ length: 17 }, (_, i) => `m${i}`) }],
    ['amr not strings', { amr: [1] }],
    ['acr not a string', { acr: 2 }],
    ['acr with a space', { acr: 'a b' }],
    ['auth_time as a claim', { claims: { auth_time: now } }],
    ['amr as a claim', { claims: { amr: ['pwd'] } }],
    ['acr as a claim', { claims: { acr: 'x' } }],
    ['the reserved context name', { context: { [AUTHENTICATION_CONTEXT_KEY]: { auth_time: now } } }],
    ['amr value over 64 characters', { amr: ['x'.repeat(65)] }],
    ['a context that fits alone but not with the authentication', { context: { note: 'x'.repeat(4080) }, amr: ['pwd', 'otp', 'hwk'] }],
  ];
  for (const [what, options] of bad) assert.is(await codeOf(h.manager.create('alice', options)), 'ERR_CLAIMS_INVALID', what);
  assert.equal(await h.manager.readAll('alice'), []);
  // A refresh cannot stamp an authentication through the context either.
  const a = await h.manager.create('alice', { authTime: now - 600 });
  await rejectsWith(h.manager.update(a.refreshToken, { context: { [AUTHENTICATION_CONTEXT_KEY]: { auth_time: now } } as never }), 'ERR_CLAIMS_INVALID');
  assert.is((await h.manager.readAll('alice'))[0]!.authTime, now - 600);
});

S('checkFreshness: within maxAge passes, past it or without auth_time fails; acr is one of, amr all of', async ({ h }) => {
  const now = h.clock.now;
  const claims = await h.manager.read((await h.manager.create('alice', { authTime: seconds(now) - 100, amr: ['pwd', 'otp'], acr: 'loa2' })).accessToken);
  checkFreshness(claims, { maxAge: 100 }, now);
  checkFreshness(claims, { maxAge: 300, acr: ['loa2', 'loa3'], amr: ['otp'] }, now);
  assert.is(await codeOf(() => checkFreshness(claims, { maxAge: 99 }, now)), 'ERR_AUTH_NOT_FRESH');
  assert.is(await codeOf(() => checkFreshness(claims, { maxAge: 300, acr: ['loa3'] }, now)), 'ERR_AUTH_NOT_FRESH');
  assert.is(await codeOf(() => checkFreshness(claims, { maxAge: 300, amr: ['otp', 'hwk'] }, now)), 'ERR_AUTH_NOT_FRESH');
  assert.is(await codeOf(() => checkFreshness({ ...claims, auth_time: undefined }, { maxAge: 1e9 }, now)), 'ERR_AUTH_NOT_FRESH', 'a missing auth_time is not fresh');
  assert.is(await codeOf(() => checkFreshness({ ...claims, auth_time: '1700000000' }, { maxAge: 1e9 }, now)), 'ERR_AUTH_NOT_FRESH', 'a string auth_time');
  assert.is(await codeOf(() => checkFreshness({ ...claims, auth_time: seconds(now) + 3600 }, { maxAge: 1e9 }, now)), 'ERR_AUTH_NOT_FRESH', 'an auth_time in the future');
  assert.is(await codeOf(() => checkFreshness({ ...claims, acr: undefined }, { maxAge: 300, acr: ['loa2'] }, now)), 'ERR_AUTH_NOT_FRESH', 'no acr');
  assert.is(await codeOf(() => checkFreshness({ ...claims, amr: 'otp' }, { maxAge: 300, amr: ['otp'] }, now)), 'ERR_AUTH_NOT_FRESH', 'amr not an array');
});

S('checkFreshnessRequirement refuses bad options at construction, naming them', async () => {
  for (const bad of [undefined, {}, { maxAge: -1 }, { maxAge: 1.5 }, { maxAge: '300' }, { maxAge: 1, acr: [] }, { maxAge: 1, amr: ['a b'] }, { maxAge: 1, acr: 'loa2' }]) {
    assert.is(await codeOf(() => checkFreshnessRequirement(bad)), 'ERR_CONFIG_INVALID', JSON.stringify(bad));
  }
  const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
  assert.is(await codeOf(() => checkFreshnessRequirement(hostile)), 'ERR_CONFIG_INVALID');
  assert.equal(checkFreshnessRequirement({ maxAge: 300, acr: ['loa2'] }), { maxAge: 300, acr: ['loa2'] });
});

S('the RFC 9470 challenge: Bearer, or DPoP for a bound token, with max_age and acr_values', async ({ h }) => {
  const bearer = await h.manager.read((await h.manager.create('alice')).accessToken);
  assert.is(
    freshnessChallenge({ maxAge: 300, acr: ['loa2', 'loa3'] }, bearer),
    'Bearer error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age="300", acr_values="loa2 loa3"',
  );
  const jkt = jwkThumbprint(DEFAULT_KEY.jwk as never);
  const bound = await h.manager.read((await h.manager.create('alice', { dpop: { jkt } })).accessToken);
  assert.ok(freshnessChallenge({ maxAge: 60 }, bound).startsWith('DPoP error="insufficient_user_authentication"'));
  assert.not.ok(freshnessChallenge({ maxAge: 60 }, bound).includes('acr_values'));
  assert.ok(freshnessChallenge({ maxAge: 60 }, bound, 'api"x').startsWith('DPoP realm="apix", '));
});

S('reauthenticate(): a DPoP-bound session needs its key and keeps its binding; bad input is typed', async ({ h }) => {
  const jkt = jwkThumbprint(DEFAULT_KEY.jwk as never);
  const a = await h.manager.create('alice', { dpop: { jkt }, authTime: seconds(h.clock.now) - 900 });
  await rejectsWith(h.manager.reauthenticate('alice', a.sessionId, { refreshToken: a.refreshToken, amr: ['pwd'] }), 'ERR_DPOP_BINDING_MISMATCH');
  const b = await h.manager.reauthenticate('alice', a.sessionId, { refreshToken: a.refreshToken, amr: ['pwd'], dpop: { jkt } });
  const claims = await h.manager.read(b.accessToken);
  assert.equal(claims.cnf, { jkt });
  assert.is(claims.auth_time, seconds(h.clock.now));
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, { refreshToken: b.refreshToken, amr: 'pwd' as never, dpop: { jkt } })), 'ERR_CLAIMS_INVALID');
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, { refreshToken: 42 as never })), 'ERR_REFRESH_TOKEN_INVALID');
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, null as never)), 'ERR_CLAIMS_INVALID');
  assert.is(await codeOf(h.manager.reauthenticate('alice', 7 as never, { refreshToken: b.refreshToken })), 'ERR_CLAIMS_INVALID');
  assert.is(await codeOf(h.manager.reauthenticate('', a.sessionId, { refreshToken: b.refreshToken })), 'ERR_CLAIMS_INVALID');
  assert.is(await codeOf(h.manager.reauthenticate('alice', 'not-a-session', { refreshToken: b.refreshToken })), 'ERR_REFRESH_TOKEN_INVALID');
  const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, hostile as never)), 'ERR_CLAIMS_INVALID');
  // The store down: typed, and nothing was rotated.
  const list = h.store.list;
  h.store.list = async () => { throw new Error('down'); };
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, { refreshToken: b.refreshToken, dpop: { jkt } })), 'ERR_STORAGE_UNAVAILABLE');
  h.store.list = list;
  await h.manager.update(b.refreshToken, { dpop: { jkt } });
  await h.manager.close();
  assert.is(await codeOf(h.manager.reauthenticate('alice', a.sessionId, { refreshToken: b.refreshToken })), 'ERR_CONFIG_INVALID');
});

S.run();

import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKCHANNEL_LOGOUT_EVENT, LogoutTokenVerifier, SessionError, type LogoutTokenVerifierOptions, type SessionTokens } from '../src/index.js';
import { b64, harness, type Harness } from './helpers.js';
import { OidcProvider } from './oidc-provider.js';
import { ReferenceDpopReplayCache } from './reference-storage.js';

/*
 * Issue 26 §2: OpenID Connect Back-Channel Logout 1.0 §2.6, one rule per
 * case, each against a real local provider (keys served as a JWK Set), and a
 * refused token ends nothing.
 */

const CLIENT = 'my-app';
const EVENTS = { [BACKCHANNEL_LOGOUT_EVENT]: {} };

interface Ctx {
  idp: OidcProvider;
  h: Harness;
  replay: ReferenceDpopReplayCache;
  verifier: LogoutTokenVerifier;
  a: SessionTokens;
  b: SessionTokens;
}

const S = suite<Ctx>('back-channel logout tokens (OIDC BCL 1.0 §2.6)');

function verifierFor(ctx: Ctx, options: Partial<LogoutTokenVerifierOptions> = {}, provider: Record<string, unknown> = {}): LogoutTokenVerifier {
  return new LogoutTokenVerifier({ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, jwksUrl: ctx.idp.jwksUrl, ...provider }], replayCache: ctx.replay, ...options });
}

/** A logout token as the provider would send it for session sid-A of user idp-1; `claims` override, undefined removes. */
const logoutToken = (ctx: Ctx, claims: Record<string, unknown> = {}, options: { typ?: string | null; alg?: 'RS256' | 'ES256' } = {}) =>
  ctx.idp.sign({ aud: CLIENT, sub: 'idp-1', sid: 'sid-A', events: EVENTS, exp: undefined, ...claims }, { typ: options.typ === undefined ? 'logout+jwt' : options.typ, ...(options.alg === undefined ? {} : { alg: options.alg }) });

S.before(async (ctx) => {
  ctx.idp = await OidcProvider.start();
});
S.after(async (ctx) => {
  await ctx.idp.stop();
});
S.before.each(async (ctx) => {
  ctx.h = harness();
  ctx.replay = new ReferenceDpopReplayCache();
  ctx.verifier = verifierFor(ctx);
  ctx.a = await ctx.h.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'idp-1', sessionId: 'sid-A' } });
  ctx.b = await ctx.h.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'idp-1', sessionId: 'sid-B' } });
});
S.after.each(async (ctx) => {
  await ctx.h.close();
});

async function refused(ctx: Ctx, token: unknown, reason: string, code = 'ERR_AUTH_TOKEN_INVALID', verifier = ctx.verifier): Promise<void> {
  try {
    await verifier.logout(ctx.h.manager, token);
  } catch (error) {
    assert.instance(error, SessionError);
    assert.is((error as SessionError).code, code, `code for ${reason}`);
    assert.is((error as SessionError).reason, reason);
    // Nothing ended: both sessions still verify.
    assert.is((await ctx.h.manager.read(ctx.a.accessToken)).sid, ctx.a.sessionId, 'a refused token ended session A');
    assert.is((await ctx.h.manager.read(ctx.b.accessToken)).sid, ctx.b.sessionId, 'a refused token ended session B');
    return;
  }
  assert.unreachable(`accepted (expected ${reason})`);
}

S('a valid token with sid ends that provider session’s session only (§2.7), and says how many', async (ctx) => {
  assert.is(await ctx.verifier.logout(ctx.h.manager, await logoutToken(ctx)), 1);
  try {
    await ctx.h.manager.read(ctx.a.accessToken);
    assert.unreachable('session A still verifies');
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_SESSION_REVOKED');
  }
  assert.is((await ctx.h.manager.read(ctx.b.accessToken)).sid, ctx.b.sessionId);
});

S('a valid token with sub only ends every session of that provider user', async (ctx) => {
  const other = await ctx.h.manager.create('bob', { upstream: { issuer: ctx.idp.issuer, subject: 'idp-2', sessionId: 'sid-C' } });
  assert.is(await ctx.verifier.logout(ctx.h.manager, await logoutToken(ctx, { sid: undefined })), 2);
  assert.is((await ctx.h.manager.read(other.accessToken)).sub, 'bob');
});

S('verify() reports issuer, sid and sub, and the selector', async (ctx) => {
  const v = await ctx.verifier.verify(await logoutToken(ctx));
  assert.is(v.issuer, ctx.idp.issuer);
  assert.is(v.sessionId, 'sid-A');
  assert.is(v.subject, 'idp-1');
  assert.equal(v.selector, { issuer: ctx.idp.issuer, sessionId: 'sid-A' });
  assert.match(v.replayKey, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(ctx.verifier.issuers, [ctx.idp.issuer]);
});

S('§2.6 step 10: a jti is accepted once, on any node sharing the replay cache', async (ctx) => {
  const token = await logoutToken(ctx, { sid: 'sid-Z' });
  assert.is(await ctx.verifier.logout(ctx.h.manager, token), 0);
  await refused(ctx, token, 'replayed');
  const otherNode = new LogoutTokenVerifier({ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, jwksUrl: ctx.idp.jwksUrl }], replayCache: ctx.replay.peer() });
  await refused(ctx, token, 'replayed', 'ERR_AUTH_TOKEN_INVALID', otherNode);
  // The same token for sid-A, replayed after sid-A's user signed in again, must not end the new session.
  const first = await logoutToken(ctx);
  await ctx.verifier.logout(ctx.h.manager, first);
  ctx.a = await ctx.h.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'idp-1', sessionId: 'sid-A' } });
  await refused(ctx, first, 'replayed');
});

S('§2.4: typ must be logout+jwt; JWT (or none) only with allowPlainJwtType', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, {}, { typ: 'JWT' }), 'type');
  await refused(ctx, await logoutToken(ctx, {}, { typ: null }), 'type');
  await refused(ctx, await logoutToken(ctx, {}, { typ: 'at+jwt' }), 'type');
  // RFC 7515 §4.1.9: the media type compares case-insensitively, `application/` optional.
  assert.is(await ctx.verifier.logout(ctx.h.manager, await logoutToken(ctx, { sid: 'none-1' }, { typ: 'application/Logout+JWT' })), 0);
  const lenient = verifierFor(ctx, {}, { allowPlainJwtType: true });
  assert.is(await lenient.logout(ctx.h.manager, await logoutToken(ctx, { sid: 'none-2' }, { typ: 'JWT' })), 0);
  assert.is(await lenient.logout(ctx.h.manager, await logoutToken(ctx, { sid: 'none-3' }, { typ: null })), 0);
});

S('§2.6 step 2: alg none, an HMAC alg, an alg off the provider’s list, a foreign key: refused', async (ctx) => {
  const payload = { iss: ctx.idp.issuer, aud: CLIENT, sub: 'idp-1', sid: 'sid-A', iat: Math.floor(Date.now() / 1000), jti: 'j-none', events: EVENTS };
  await refused(ctx, `${b64({ alg: 'none', typ: 'logout+jwt' })}.${b64(payload)}.`, 'malformed');
  await refused(ctx, `${b64({ alg: 'none', typ: 'logout+jwt' })}.${b64(payload)}.${b64('x')}`, 'algorithm');
  const hmac = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' }).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!!'));
  await refused(ctx, hmac, 'algorithm');
  const esOnly = verifierFor(ctx, {}, { algorithms: ['ES256'] });
  await refused(ctx, await logoutToken(ctx, {}, { alg: 'RS256' }), 'algorithm', 'ERR_AUTH_TOKEN_INVALID', esOnly);
  // A key of the attacker's, under a kid the provider publishes.
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = ctx.idp.kids('ES256')[0]!;
  const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid }).sign(privateKey);
  await refused(ctx, forged, 'signature');
  // And under a kid it does not publish.
  const unknown = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: 'attacker' }).sign(privateKey);
  await refused(ctx, unknown, 'unknown_key');
  assert.ok((await exportJWK(privateKey)).d, 'the forging key is a real key');
});

S('§2.6 steps 3–4: iss must be a configured provider, aud must hold the client id', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, { iss: 'https://evil.example' }), 'issuer');
  await refused(ctx, await logoutToken(ctx, { iss: undefined }), 'issuer');
  await refused(ctx, await logoutToken(ctx, { aud: 'someone-else' }), 'audience');
  await refused(ctx, await logoutToken(ctx, { aud: undefined }), 'missing_claim');
  assert.is(await ctx.verifier.logout(ctx.h.manager, await logoutToken(ctx, { aud: ['other', CLIENT], sid: 'none-4' })), 0);
});

S('§2.6 steps 5–6: iat required and within maxAge, not in the future; exp when present', async (ctx) => {
  const now = Math.floor(Date.now() / 1000);
  await refused(ctx, await logoutToken(ctx, { iat: now - 301 - 5 }), 'expired', 'ERR_AUTH_TOKEN_EXPIRED');
  await refused(ctx, await logoutToken(ctx, { iat: now + 60 }), 'issued_in_future');
  await refused(ctx, await logoutToken(ctx, { iat: undefined }), 'missing_claim');
  await refused(ctx, await logoutToken(ctx, { exp: now - 60 }), 'expired', 'ERR_AUTH_TOKEN_EXPIRED');
  assert.is(await ctx.verifier.logout(ctx.h.manager, await logoutToken(ctx, { exp: now + 120, sid: 'none-5' })), 0);
  const strict = verifierFor(ctx, { maxAge: 10 });
  await refused(ctx, await logoutToken(ctx, { iat: now - 30 }), 'expired', 'ERR_AUTH_TOKEN_EXPIRED', strict);
});

S('§2.6 step 7: events must hold the back-channel logout member, with an object value', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, { events: undefined }), 'events');
  await refused(ctx, await logoutToken(ctx, { events: { 'http://schemas.openid.net/event/other': {} } }), 'events');
  await refused(ctx, await logoutToken(ctx, { events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } }), 'events');
  await refused(ctx, await logoutToken(ctx, { events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } }), 'events');
  await refused(ctx, await logoutToken(ctx, { events: { [BACKCHANNEL_LOGOUT_EVENT]: null } }), 'events');
  await refused(ctx, await logoutToken(ctx, { events: [BACKCHANNEL_LOGOUT_EVENT] }), 'events');
});

S('§2.6 step 8: sid or sub required, each a bounded string', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, { sid: undefined, sub: undefined }), 'missing_claim');
  await refused(ctx, await logoutToken(ctx, { sid: 42 }), 'invalid_claim');
  await refused(ctx, await logoutToken(ctx, { sid: 'x'.repeat(256) }), 'invalid_claim');
});

S('§2.6 step 9: a nonce is refused, so the provider’s ID token can never pass (nor can one typed logout+jwt)', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, { nonce: 'n-1' }), 'id_token');
  const idToken = await ctx.idp.sign({ aud: CLIENT, sub: 'idp-1', sid: 'sid-A', nonce: 'n-2', auth_time: Math.floor(Date.now() / 1000) });
  await refused(ctx, idToken, 'type');
  const lenient = verifierFor(ctx, {}, { allowPlainJwtType: true });
  await refused(ctx, idToken, 'events', 'ERR_AUTH_TOKEN_INVALID', lenient);
});

S('§2.4: jti required, a bounded string', async (ctx) => {
  await refused(ctx, await logoutToken(ctx, { jti: undefined }), 'missing_claim');
  await refused(ctx, await logoutToken(ctx, { jti: 7 }), 'invalid_claim');
  await refused(ctx, await logoutToken(ctx, { jti: 'j'.repeat(257) }), 'invalid_claim');
});

S('garbage, a JWE-shaped string, an oversized token and non-strings are malformed', async (ctx) => {
  for (const junk of ['', 'garbage', 'a.b', 'a.b.c.d.e', `${'a'.repeat(20_000)}.b.c`, 42, null, undefined, { token: 'x' }]) await refused(ctx, junk, 'malformed');
  await refused(ctx, `${b64('not json')}.${b64('{}')}.${b64('sig')}`, 'malformed');
});

S('the store cannot look up the sessions: ERR_STORAGE_UNAVAILABLE, and the jti is released so the provider’s retry works', async (ctx) => {
  const store = ctx.h.store;
  const real = store.findUpstream.bind(store);
  let down = true;
  store.findUpstream = async (selector, now) => {
    if (down) throw new Error('store down');
    return real(selector, now);
  };
  const token = await logoutToken(ctx);
  try {
    await ctx.verifier.logout(ctx.h.manager, token);
    assert.unreachable('acknowledged a logout the store did not confirm');
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
  }
  down = false;
  assert.is(await ctx.verifier.logout(ctx.h.manager, token), 1, 'the retry was refused');
});

S('the replay cache cannot answer: ERR_STORAGE_UNAVAILABLE, and nothing is ended', async (ctx) => {
  const broken = verifierFor(ctx, {
    replayCache: {
      remember: async () => {
        throw new Error('redis down');
      },
    },
  });
  await refused(ctx, await logoutToken(ctx), 'store', 'ERR_STORAGE_UNAVAILABLE', broken);
  const odd = verifierFor(ctx, { replayCache: { remember: async () => 'maybe' as never } });
  await refused(ctx, await logoutToken(ctx), 'store', 'ERR_STORAGE_UNAVAILABLE', odd);
});

S('keys from the provider’s discovery document (its issuer checked); a failing key server is 503, not 400', async (ctx) => {
  const discovered = verifierFor(ctx, {}, { jwksUrl: undefined });
  assert.is(await discovered.logout(ctx.h.manager, await logoutToken(ctx)), 1);
  assert.ok(ctx.idp.discoveries >= 1);
  // Session A is ended; a new one takes its place for the refusals below, which check that nothing more is.
  ctx.a = await ctx.h.manager.create('alice', { upstream: { issuer: ctx.idp.issuer, subject: 'idp-1', sessionId: 'sid-A2' } });
  ctx.idp.metadataIssuer = 'https://impostor.example';
  try {
    const fooled = verifierFor(ctx, {}, { jwksUrl: undefined });
    await refused(ctx, await logoutToken(ctx, { sid: 'sid-B' }), 'jwks', 'ERR_STORAGE_UNAVAILABLE', fooled);
    // Within the cooldown the document is not asked for again.
    const before = ctx.idp.discoveries;
    await refused(ctx, await logoutToken(ctx, { sid: 'sid-B' }), 'jwks', 'ERR_STORAGE_UNAVAILABLE', fooled);
    assert.is(ctx.idp.discoveries, before);
  } finally {
    ctx.idp.metadataIssuer = undefined;
  }
  ctx.idp.setUp(false);
  try {
    await refused(ctx, await logoutToken(ctx, { sid: 'sid-B' }), 'jwks', 'ERR_STORAGE_UNAVAILABLE', verifierFor(ctx));
  } finally {
    ctx.idp.setUp(true);
  }
});

S('every outcome is counted in jwt_session.upstream.logouts: ended, refused with its reason, unavailable', async (ctx) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  try {
    const counted = verifierFor(ctx, { telemetry: { meterProvider } });
    await counted.logout(ctx.h.manager, await logoutToken(ctx, { sid: 'none-9' }));
    await counted.logout(ctx.h.manager, await logoutToken(ctx, { nonce: 'x' })).catch(() => undefined);
    await counted.logout(ctx.h.manager, 'garbage').catch(() => undefined);
    counted.count('refused', 'too_large');
    const broken = verifierFor(ctx, { telemetry: { meterProvider }, replayCache: { remember: async () => Promise.reject(new Error('down')) } });
    await broken.logout(ctx.h.manager, await logoutToken(ctx)).catch(() => undefined);
    await reader.forceFlush();
    const metric = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.descriptor.name === 'jwt_session.upstream.logouts');
    const points = ((metric?.dataPoints ?? []) as DataPoint<number>[]).map((p) => [JSON.stringify(p.attributes), p.value]).sort();
    assert.equal(points, [
      ['{"outcome":"ended"}', 1],
      ['{"outcome":"refused","reason":"id_token"}', 1],
      ['{"outcome":"refused","reason":"malformed"}', 1],
      ['{"outcome":"refused","reason":"too_large"}', 1],
      ['{"outcome":"unavailable","reason":"store"}', 1],
    ]);
  } finally {
    await meterProvider.shutdown();
  }
});

S('bad options fail at construction, naming the option', (ctx) => {
  const bad: [unknown, RegExp][] = [
    [undefined, /options/],
    [{ replayCache: ctx.replay }, /providers/],
    [{ providers: [], replayCache: ctx.replay }, /providers/],
    [{ providers: ['x'], replayCache: ctx.replay }, /providers\[0\]/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT }] }, /replayCache/],
    [{ providers: [{ issuer: '', clientId: CLIENT }], replayCache: ctx.replay }, /providers\[0\]\.issuer/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: '' }], replayCache: ctx.replay }, /clientId/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, algorithms: ['HS256'] }], replayCache: ctx.replay }, /algorithms/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, algorithms: [] }], replayCache: ctx.replay }, /algorithms/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, allowPlainJwtType: 'yes' }], replayCache: ctx.replay }, /allowPlainJwtType/],
    [{ providers: [{ issuer: 'http://idp.example.com', clientId: CLIENT }], replayCache: ctx.replay }, /issuer.*https/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT, jwksUrl: 'http://idp.example.com/jwks' }], replayCache: ctx.replay }, /jwksUrl/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT }, { issuer: ctx.idp.issuer, clientId: 'x' }], replayCache: ctx.replay }, /twice/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT }], replayCache: ctx.replay, maxAge: -1 }, /maxAge/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT }], replayCache: ctx.replay, clock: 5 }, /clock/],
    [{ providers: [{ issuer: ctx.idp.issuer, clientId: CLIENT }], replayCache: ctx.replay, allowInsecureUrls: 1 }, /allowInsecureUrls/],
  ];
  for (const [options, message] of bad) {
    try {
      new LogoutTokenVerifier(options as never);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as SessionError).message, message);
    }
  }
  // An http issuer on another host is allowed when asked for.
  assert.ok(new LogoutTokenVerifier({ providers: [{ issuer: 'http://idp.example.com', clientId: CLIENT }], replayCache: ctx.replay, allowInsecureUrls: true }));
});

S.run();

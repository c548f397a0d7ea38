import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_SESSIONS_INVALIDATED,
  JwtSessionVerifier,
  JwtUserSessionManager,
  SESSION_INVALIDATED,
  isSessionError,
  type JwtSessionVerifierOptions,
  type SessionEvents,
  type SessionVerifier,
} from '../src/index.js';
import { AUDIENCE, ISSUER, SECRET, codeOf, forge, harness } from './helpers.js';
import { OidcProvider } from './oidc-provider.js';
import { ReferenceBroadcaster, ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';

const closers: (() => unknown)[] = [];
const later = <T>(value: T, close: () => unknown): T => {
  closers.push(close);
  return value;
};

function verifier(options: Partial<JwtSessionVerifierOptions>): JwtSessionVerifier {
  const v = new JwtSessionVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
    ...options,
  } as JwtSessionVerifierOptions);
  return later(v, () => v.close());
}

function events(v: JwtSessionVerifier) {
  const seen: { name: string; payload: unknown }[] = [];
  v.on(SESSION_INVALIDATED, (payload: SessionEvents[typeof SESSION_INVALIDATED]) => seen.push({ name: SESSION_INVALIDATED, payload }));
  v.on(ALL_SESSIONS_INVALIDATED, (payload: SessionEvents[typeof ALL_SESSIONS_INVALIDATED]) => seen.push({ name: ALL_SESSIONS_INVALIDATED, payload }));
  return seen;
}

const O = suite('JwtSessionVerifier: this library\'s tokens');

O('verifies the manager\'s tokens with the shared secret, or with only the public key; issuer may be a list', async () => {
  const h = harness();
  later(h, () => h.close());
  const tokens = await h.manager.create('alice', { claims: { roles: ['user'] } });
  const v = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ['https://other-tenant.test', ISSUER] });
  const claims = await v.read(tokens.accessToken);
  assert.is(claims.sub, 'alice');
  assert.is(claims.sid, tokens.sessionId);
  assert.equal(claims.roles, ['user']);
  assert.ok(Object.isFrozen(claims));
  assert.is(await v.read(tokens.accessToken), await v.read(tokens.accessToken), 'the second read is a cache hit');
  // The implementation satisfies the guards' interface.
  const asGuardSees: SessionVerifier = v;
  assert.is(asGuardSees.isRevoked(claims), false);

  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const es = harness({ keys: { kid: 'es1', algorithm: 'ES256', privateKey: await exportJWK(privateKey) } });
  later(es, () => es.close());
  const esTokens = await es.manager.create('bob');
  const publicOnly = verifier({ keys: [{ kid: 'es1', algorithm: 'ES256', publicKey: await exportJWK(publicKey) }] });
  assert.is((await publicOnly.read(esTokens.accessToken)).sub, 'bob');
  assert.is(await codeOf(publicOnly.read(tokens.accessToken)), 'ERR_AUTH_TOKEN_INVALID', 'an HS256 token against an ES256 key');
  assert.is(await codeOf(verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: 'https://other.test' }).read(tokens.accessToken)), 'ERR_AUTH_TOKEN_INVALID');
});

O('strict by default: typ, every claim, the token syntax, expiry', async () => {
  const v = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET } });
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', sid: 'AAAAsessionidsessionidsess', jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat: now, exp: now + 60 };
  assert.is((await v.read(forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, claims))).sub, 'alice');
  assert.is(await codeOf(v.read(forge({ alg: 'HS256', kid: 'k1', typ: 'JWT' }, claims))), 'ERR_AUTH_TOKEN_INVALID');
  const { sid: _sid, ...withoutSid } = claims;
  assert.is(await codeOf(v.read(forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, withoutSid))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(v.read(forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, { ...claims, iat: now - 600, exp: now - 60 }))), 'ERR_AUTH_TOKEN_EXPIRED');
  for (const bad of ['', 'a.b', 'x'.repeat(9000), null, 42]) assert.is(await codeOf(v.read(bad as string)), 'ERR_AUTH_TOKEN_INVALID');
});

// The issue's core promise: a revocation made by the issuing service reaches a verifier through the same broadcaster.
O('revocations from the issuing manager reach the verifier: events with origin remote, tokens rejected, later tokens accepted', async () => {
  const broadcaster = new ReferenceBroadcaster();
  const h = harness({}, broadcaster);
  later(h, () => h.close());
  const v = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, broadcaster, clock: () => h.clock.now });
  await v.ready();
  const seen = events(v);
  const one = await h.manager.create('alice');
  const two = await h.manager.create('alice');
  const claims = await v.read(one.accessToken);
  await h.manager.deleteOne('alice', one.sessionId);
  assert.equal(seen.shift(), { name: SESSION_INVALIDATED, payload: { subject: 'alice', sessionId: one.sessionId, reason: 'deleted', at: h.clock.now, origin: 'remote' } });
  assert.is(v.isRevoked(claims), true);
  assert.is(await codeOf(v.read(one.accessToken)), 'ERR_SESSION_REVOKED');
  assert.is((await v.read(two.accessToken)).sid, two.sessionId);

  await h.manager.deleteAll('alice');
  assert.is(seen.shift()?.name, ALL_SESSIONS_INVALIDATED);
  assert.is(await codeOf(v.read(two.accessToken)), 'ERR_SESSION_REVOKED');
  h.clock.now += 1; // dated by the jti's milliseconds: a session opened 1 ms later is not caught
  const three = await h.manager.create('alice');
  assert.is((await v.read(three.accessToken)).sid, three.sessionId);

  // A verifier started afterwards is replayed the revocations still in force.
  const late = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, broadcaster, clock: () => h.clock.now });
  await late.ready();
  assert.is(await codeOf(late.read(one.accessToken)), 'ERR_SESSION_REVOKED');
  assert.is(await codeOf(late.read(two.accessToken)), 'ERR_SESSION_REVOKED');
  assert.is((await late.read(three.accessToken)).sub, 'alice');
});

O('malformed invalidations are ignored; isRevoked refuses claims without a string sub', async () => {
  const broadcaster = new ReferenceBroadcaster();
  const v = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, broadcaster });
  const seen = events(v);
  const publisher = broadcaster.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  const future = Date.now() + 60_000;
  for (const event of [
    { type: 'session', subject: '', sessionId: 's', reason: 'deleted', at: 1, expiresAt: future },
    { type: 'session', subject: 'a', sessionId: 's', reason: 'because', at: 1, expiresAt: future },
    { type: 'session', subject: 'a', sessionId: 7, reason: 'deleted', at: 1, expiresAt: future },
    { type: 'subject', subject: 'a', at: Number.NaN, expiresAt: future },
    { type: 'subject', subject: 'a', at: 1, expiresAt: 'later' },
  ]) {
    await publisher.publish(event as never);
  }
  assert.equal(seen, []);
  // Already expired: nothing cached, the event is still announced.
  await publisher.publish({ type: 'session', subject: 'a', sessionId: 'old', reason: 'evicted', at: 1, expiresAt: Date.now() - 60_000 });
  await publisher.close();
  for (const bad of [null, undefined, {}, { sub: 7 }]) assert.is(await codeOf(() => v.isRevoked(bad as never)), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(v.isRevoked({ sub: 'a', sid: 'old', jti: 'x' }), false);
  assert.is(v.isRevoked({ sub: 'a' }), false);
});

O('close: leaves the broadcaster; a token not yet verified is refused; closing twice is harmless', async () => {
  const broadcaster = new ReferenceBroadcaster();
  const h = harness({}, broadcaster);
  later(h, () => h.close());
  const v = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, broadcaster });
  const seen = events(v);
  const t = await h.manager.create('alice');
  await v.close();
  await v.close();
  assert.is(await codeOf(v.read(t.accessToken)), 'ERR_CONFIG_INVALID');
  await h.manager.deleteOne('alice', t.sessionId);
  assert.equal(seen, []);
});

O('options are checked at construction, naming the option', async () => {
  const cache = new ReferenceInvalidAccessTokenCache();
  const key = { kid: 'k1', algorithm: 'HS256' as const, secret: SECRET };
  const base = { issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: cache };
  const cases: [unknown, RegExp][] = [
    [null, /options {2}must be an object|options\. must be an object/],
    [{ ...base }, /options\.keys or options\.jwksUrl must be given, not both/],
    [{ ...base, keys: key, jwksUrl: 'https://x.test/jwks' }, /options\.keys or options\.jwksUrl/],
    [{ ...base, keys: [] }, /options\.keys must hold at least one key/],
    [{ ...base, keys: { ...key, secret: 'short' } }, /options\.keys\[0\]\.secret/],
    [{ ...base, jwksUrl: 'not a url' }, /options\.jwksUrl must be an http\(s\) URL/],
    [{ ...base, jwksUrl: 'file:///etc/jwks' }, /options\.jwksUrl must be an http\(s\) URL/],
    [{ ...base, jwksUrl: 'https://x.test/jwks', algorithms: ['HS256'] }, /options\.algorithms/],
    [{ ...base, jwksUrl: 'https://x.test/jwks', algorithms: [] }, /options\.algorithms/],
    [{ ...base, keys: key, jwksCooldown: -1 }, /options\.jwksCooldown/],
    [{ ...base, keys: key, jwksTimeout: Number.NaN }, /options\.jwksTimeout/],
    [{ ...base, keys: key, issuer: [] }, /options\.issuer/],
    [{ ...base, keys: key, issuer: ['ok', ''] }, /options\.issuer/],
    [{ ...base, keys: key, audience: 7 }, /options\.audience/],
    [{ ...base, keys: key, clockTolerance: -1 }, /options\.clockTolerance/],
    [{ ...base, keys: key, tokens: 'google' }, /options\.tokens/],
    [{ ...base, keys: key, acceptedTypes: ['JWT'] }, /options\.acceptedTypes applies to tokens: 'oidc' only/],
    [{ ...base, keys: key, requiredClaims: ['sub'] }, /options\.requiredClaims applies to tokens: 'oidc' only/],
    [{ ...base, keys: key, tokens: 'oidc', acceptedTypes: [] }, /options\.acceptedTypes/],
    [{ ...base, keys: key, tokens: 'oidc', acceptedTypes: [7] }, /options\.acceptedTypes/],
    [{ ...base, keys: key, tokens: 'oidc', requiredClaims: ['iss', 'exp', 'iat'] }, /options\.requiredClaims must include "sub"/],
    [{ ...base, keys: key, tokens: 'oidc', requiredClaims: ['sub', 'iat'] }, /options\.requiredClaims must include "exp"/],
    [{ ...base, keys: key, tokens: 'oidc', requiredClaims: 'sub' }, /options\.requiredClaims/],
    [{ ...base, keys: key, allowIdTokenClaims: true }, /options\.allowIdTokenClaims applies to tokens: 'oidc' only/],
    [{ ...base, keys: key, allowedClients: ['web'] }, /options\.allowedClients applies to tokens: 'oidc' only/],
    [{ ...base, keys: key, tokens: 'oidc', allowIdTokenClaims: 1 }, /options\.allowIdTokenClaims must be a boolean/],
    [{ ...base, keys: key, tokens: 'oidc', allowedClients: [] }, /options\.allowedClients must be a non-empty array/],
    [{ ...base, keys: key, tokens: 'oidc', allowedClients: ['web', ''] }, /options\.allowedClients/],
    [{ ...base, keys: key, maxTokenLifetime: 0 }, /options\.maxTokenLifetime/],
    [{ ...base, keys: key, maxTokenLifetime: Number.NaN }, /options\.maxTokenLifetime/],
    [{ ...base, keys: key, invalidAccessTokenCache: {} }, /options\.invalidAccessTokenCache/],
    [{ ...base, keys: key, broadcaster: {} }, /options\.broadcaster/],
    [{ ...base, keys: key, verifiedTokenCacheSize: -1 }, /options\.verifiedTokenCacheSize/],
    [{ ...base, keys: key, clock: 5 }, /options\.clock/],
  ];
  for (const [options, message] of cases) {
    try {
      new JwtSessionVerifier(options as JwtSessionVerifierOptions);
      assert.unreachable(JSON.stringify(options));
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'), String(error));
      assert.match((error as Error).message, message);
    }
  }
});

O.run();

const P = suite('JwtSessionVerifier: an OpenID Connect provider\'s tokens over its JWKS');
let provider: OidcProvider;

P.before(async () => {
  provider = await OidcProvider.start();
});
P.after(async () => {
  await provider.stop();
});

function oidc(options: Partial<JwtSessionVerifierOptions> = {}): JwtSessionVerifier {
  // The provider types its access tokens JWT, as Keycloak and Entra ID do: accepted by listing it.
  return verifier({ jwksUrl: provider.jwksUrl, issuer: [provider.issuer, `${provider.url}/realms/other`], audience: 'account-api', tokens: 'oidc', acceptedTypes: ['at+jwt', 'JWT'], jwksCooldown: 200, ...options });
}

P('RS256 and ES256 tokens (typ JWT, no sid, opaque jti) verify; another tenant of the list too; unknown issuer and audience do not', async () => {
  const v = oidc();
  await v.ready();
  for (const alg of ['RS256', 'ES256'] as const) {
    const claims = await v.read(await provider.sign({ sub: `user-${alg}`, email: 'a@example.com' }, { alg }));
    assert.is(claims.sub, `user-${alg}`);
    assert.is((claims as unknown as { email: string }).email, 'a@example.com');
  }
  assert.is((await v.read(await provider.sign({ iss: `${provider.url}/realms/other` }))).sub, 'user-1');
  assert.is(await codeOf(v.read(await provider.sign({ iss: `${provider.url}/realms/evil` }))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(v.read(await provider.sign({ aud: 'another-api' }))), 'ERR_AUTH_TOKEN_INVALID');
  const now = Math.floor(Date.now() / 1000);
  assert.is(await codeOf(v.read(await provider.sign({ iat: now - 600, exp: now - 60 }))), 'ERR_AUTH_TOKEN_EXPIRED');
  assert.is(await codeOf(v.read(await provider.sign({ iat: now + 600 }))), 'ERR_AUTH_TOKEN_INVALID', 'issued in the future');
  assert.is(await codeOf(v.read(await provider.sign({ sub: '' }))), 'ERR_AUTH_TOKEN_INVALID');
});

P('accepted typ values are configurable (case-insensitive, application/ optional); required claims too', async () => {
  const v = oidc();
  assert.is((await v.read(await provider.sign({}, { typ: 'at+jwt' }))).sub, 'user-1');
  assert.is((await v.read(await provider.sign({}, { typ: 'application/jwt' }))).sub, 'user-1');
  assert.is(await codeOf(v.read(await provider.sign({}, { typ: 'dpop+jwt' }))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(v.read(await provider.sign({}, { typ: null }))), 'ERR_AUTH_TOKEN_INVALID', 'no typ is refused unless null is listed');
  const lax = oidc({ acceptedTypes: ['JWT', null] });
  assert.is((await lax.read(await provider.sign({}, { typ: null }))).sub, 'user-1');
  assert.is(await codeOf(lax.read(await provider.sign({}, { typ: 'at+jwt' }))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(v.read(await provider.sign({ sub: undefined }))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(v.read(await provider.sign({ iat: undefined }))), 'ERR_AUTH_TOKEN_INVALID');
  const withEmail = oidc({ requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'email'] });
  assert.is(await codeOf(withEmail.read(await provider.sign({}))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is((await withEmail.read(await provider.sign({ email: 'x@example.com' }))).sub, 'user-1');
});

// Guards key rotation: an unknown kid triggers a refetch, and a flood of made-up kids is not a flood of fetches.
P('key rotation: a new kid is fetched on first sight; unknown kids refetch at most once per cooldown; a removed key stops verifying', async () => {
  const v = oidc({ jwksCooldown: 1000, verifiedTokenCacheSize: 0 });
  await v.ready();
  const before = provider.fetches;
  const fresh = await provider.addKey('ES256');
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past the cooldown of ready()'s fetch
  assert.is((await v.read(await provider.sign({ sub: 'rotated' }, { kid: fresh }))).sub, 'rotated');
  assert.is(provider.fetches, before + 1);
  // A burst of tokens under kids the provider never had: at most one more fetch in the cooldown.
  const stranger = await OidcProvider.start(['ES256']);
  later(stranger, () => stranger.stop());
  const burst = await Promise.all(Array.from({ length: 30 }, (_, n) => stranger.sign({ iss: provider.issuer, aud: 'account-api', sub: `x${n}` })));
  for (const token of burst) assert.is(await codeOf(v.read(token)), 'ERR_AUTH_TOKEN_INVALID');
  assert.ok(provider.fetches <= before + 2, `fetches: ${provider.fetches - before}`);
  // The provider retires the key: once the verifier has refetched, tokens under it stop verifying.
  const old = provider.kids('RS256')[0]!;
  const oldToken = await provider.sign({}, { kid: old });
  assert.is((await v.read(oldToken)).sub, 'user-1');
  provider.removeKey(old);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await v.read(await provider.sign({ sub: 'after' }, { kid: await provider.addKey('RS256') })); // triggers the refetch
  assert.is(await codeOf(v.read(oldToken)), 'ERR_AUTH_TOKEN_INVALID');
});

// Guards revocation by subject for tokens without sid or jti, dated by iat; and that another provider's opaque jti cannot date a token.
P('a subject revocation on the broadcaster rejects the provider\'s tokens issued at or before it; sid revokes when present', async () => {
  const broadcaster = new ReferenceBroadcaster();
  const clock = { now: Date.now() };
  const v = oidc({ broadcaster, clock: () => clock.now });
  const seen = events(v);
  const publisher = broadcaster.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  later(publisher, () => publisher.close());
  const iat = Math.floor(clock.now / 1000);
  const before = await provider.sign({ sub: 'mallory', iat });
  // A jti of 22 base64url characters that this library would decode as a time far in the future.
  const trickyJti = await provider.sign({ sub: 'mallory', iat, jti: '_____________________w' });
  const other = await provider.sign({ sub: 'someone-else', iat });
  assert.is((await v.read(before)).sub, 'mallory');
  await publisher.publish({ type: 'subject', subject: 'mallory', at: (iat + 1) * 1000 - 1, expiresAt: clock.now + 600_000 });
  assert.is(seen[0]!.name, ALL_SESSIONS_INVALIDATED);
  assert.is(await codeOf(v.read(before)), 'ERR_SESSION_REVOKED');
  assert.is(await codeOf(v.read(trickyJti)), 'ERR_SESSION_REVOKED');
  assert.is((await v.read(other)).sub, 'someone-else');
  const after = await provider.sign({ sub: 'mallory', iat: iat + 1 });
  clock.now = (iat + 1) * 1000;
  assert.is((await v.read(after)).sub, 'mallory');

  const withSid = await provider.sign({ sub: 'trent', sid: 'provider-session-1' });
  assert.is((await v.read(withSid)).sub, 'trent');
  await publisher.publish({ type: 'session', subject: 'trent', sessionId: 'provider-session-1', reason: 'deleted', at: clock.now, expiresAt: clock.now + 600_000 });
  assert.is(await codeOf(v.read(withSid)), 'ERR_SESSION_REVOKED');
});

// Guards #20.4: an ID token (typ JWT, aud = the client, which is often the API's audience string too) passed as an access token.
P('by default only access tokens: typ at+jwt; JWT only when listed', async () => {
  const strict = verifier({ jwksUrl: provider.jwksUrl, issuer: provider.issuer, audience: 'account-api', tokens: 'oidc' });
  assert.is((await strict.read(await provider.sign({ sub: 'api-user' }, { typ: 'at+jwt' }))).sub, 'api-user');
  assert.is((await strict.read(await provider.sign({}, { typ: 'application/at+jwt' }))).sub, 'user-1');
  assert.is(await codeOf(strict.read(await provider.sign({}, { typ: 'JWT' }))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(await codeOf(strict.read(await provider.sign({}, { typ: null }))), 'ERR_AUTH_TOKEN_INVALID');
});

// Guards #20.4: nonce, at_hash and c_hash mark an ID token (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11); none was looked at.
P('tokens carrying nonce, at_hash or c_hash are refused, even typed at+jwt, unless allowIdTokenClaims', async () => {
  const v = oidc();
  const idToken = await provider.sign({ aud: 'account-api', nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', auth_time: 1 }, { typ: 'JWT' });
  assert.is(await codeOf(v.read(idToken)), 'ERR_AUTH_TOKEN_INVALID', 'an ID token as a provider issues it');
  for (const marker of [{ nonce: 'abc' }, { at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }, { c_hash: 'LDktKdoQak3Pk0cnXxCltA' }, { nonce: '' }, { nonce: null }]) {
    const token = await provider.sign(marker, { typ: 'at+jwt' });
    assert.is(await codeOf(v.read(token)), 'ERR_AUTH_TOKEN_INVALID', JSON.stringify(marker));
    assert.is((await oidc({ allowIdTokenClaims: true }).read(token)).sub, 'user-1', JSON.stringify(marker));
  }
  assert.is((await v.read(await provider.sign({ auth_time: 1, acr: '1' }))).sub, 'user-1', 'other claims are no marker');
});

// Guards #20.4: no azp / client_id check was possible; a token minted for any client of the provider passed.
P('allowedClients: client_id (RFC 9068 §2.2) or azp must name a listed client, each one present', async () => {
  const v = oidc({ allowedClients: ['web-app', 'mobile-app'] });
  assert.is((await v.read(await provider.sign({ client_id: 'web-app' }))).sub, 'user-1');
  assert.is((await v.read(await provider.sign({ azp: 'mobile-app' }))).sub, 'user-1');
  assert.is((await v.read(await provider.sign({ client_id: 'web-app', azp: 'web-app' }))).sub, 'user-1');
  for (const claims of [{}, { client_id: 'other-app' }, { azp: 'other-app' }, { client_id: 'web-app', azp: 'other-app' }, { client_id: ['web-app'] }, { azp: 7 }, { client_id: null }]) {
    assert.is(await codeOf(v.read(await provider.sign(claims))), 'ERR_AUTH_TOKEN_INVALID', JSON.stringify(claims));
  }
  assert.is((await oidc().read(await provider.sign({ azp: 'other-app' }))).sub, 'user-1', 'without the option, any client');
});

// Guards #26 §4: maxTokenLifetime is what a revocation is kept for; a token living longer could outlive it.
P('a token whose lifetime (exp - iat) exceeds maxTokenLifetime is refused (default one day)', async () => {
  const now = Math.floor(Date.now() / 1000);
  const long = await provider.sign({ iat: now - 10, exp: now - 10 + 86_401 });
  assert.is(await codeOf(oidc().read(long)), 'ERR_AUTH_TOKEN_INVALID');
  assert.is((await oidc({ maxTokenLifetime: 2 * 86_400 }).read(long)).sub, 'user-1');
  assert.is((await oidc().read(await provider.sign({ iat: now - 10, exp: now - 10 + 86_400 }))).sub, 'user-1');
  const short = await provider.sign({ iat: now, exp: now + 120 });
  assert.is(await codeOf(oidc({ maxTokenLifetime: 60 }).read(short)), 'ERR_AUTH_TOKEN_INVALID');
  // This library's own tokens too.
  const own = verifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, maxTokenLifetime: 60 });
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', sid: 'AAAAsessionidsessionidsess', jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat: now, exp: now + 600 };
  assert.is(await codeOf(own.read(forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, claims))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is((await own.read(forge({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' }, { ...claims, exp: now + 60 }))).sub, 'alice');
});

// Guards #26 §4: a revocation whose expiresAt is shorter than the provider's token lifetime expired on the verifier and the revoked token came back.
P('a revocation is kept at least maxTokenLifetime past its moment, whatever its expiresAt says', async () => {
  const broadcaster = new ReferenceBroadcaster();
  const v = oidc({ broadcaster, clockTolerance: 0 });
  const publisher = broadcaster.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  later(publisher, () => publisher.close());
  const now = Date.now();
  const iat = Math.floor(now / 1000) - 1;
  const token = await provider.sign({ sub: 'revoked-user', sid: 'idp-session-9', iat, exp: iat + 300 });
  const bySession = await provider.sign({ sub: 'other-user', sid: 'idp-session-10', iat, exp: iat + 300 });
  assert.is((await v.read(token)).sub, 'revoked-user');
  // A publisher that believes tokens live 200 ms (a CLI run with a short --access-token-ttl, a short-lived provider config).
  await publisher.publish({ type: 'subject', subject: 'revoked-user', at: now, expiresAt: now + 200 });
  await publisher.publish({ type: 'session', subject: 'other-user', sessionId: 'idp-session-10', reason: 'deleted', at: now, expiresAt: now + 200 });
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.is(await codeOf(v.read(token)), 'ERR_SESSION_REVOKED');
  assert.is(await codeOf(v.read(bySession)), 'ERR_SESSION_REVOKED');
  // An old revocation replayed after every token it could revoke has expired is not kept.
  const cache = new ReferenceInvalidAccessTokenCache();
  const replay = oidc({ broadcaster, invalidAccessTokenCache: cache, maxTokenLifetime: 60, clockTolerance: 0 });
  await publisher.publish({ type: 'subject', subject: 'long-gone', at: now - 120_000, expiresAt: now - 110_000 });
  assert.is(replay.isRevoked({ sub: 'long-gone', iat: Math.floor(now / 1000) - 200 }), false);
  assert.is(cache.size, 0, 'kept from its moment, not from its arrival');
});

P('the provider\'s public key configured directly (no JWKS); a token without kid works with a single key', async () => {
  const kid = provider.kids('RS256')[0]!;
  const v = verifier({ keys: { kid, algorithm: 'RS256', publicKey: provider.publicJwk(kid) }, issuer: provider.issuer, audience: 'account-api', tokens: 'oidc', acceptedTypes: ['JWT'] });
  await v.ready();
  assert.is((await v.read(await provider.sign({}, { kid }))).sub, 'user-1');
  assert.is((await v.read(await provider.sign({ sub: 'nokid' }, { kid, omitKid: true }))).sub, 'nokid');
  assert.is(await codeOf(v.read(await provider.sign({}, { alg: 'ES256' }))), 'ERR_AUTH_TOKEN_INVALID');
});

// Guards the difference between "this token is bad" (401) and "the keys cannot be had" (503): a provider outage is not a forged token.
P('a JWKS that cannot be fetched: ready() and read() fail with ERR_STORAGE_UNAVAILABLE, and recover', async () => {
  const down = await OidcProvider.start(['ES256']);
  later(down, () => down.stop());
  down.setUp(false);
  const v = verifier({ jwksUrl: down.jwksUrl, issuer: down.issuer, audience: 'account-api', tokens: 'oidc', acceptedTypes: ['JWT'], jwksCooldown: 0 });
  assert.is(await codeOf(v.ready()), 'ERR_STORAGE_UNAVAILABLE');
  const token = await down.sign({});
  assert.is(await codeOf(v.read(token)), 'ERR_STORAGE_UNAVAILABLE');
  down.setUp(true);
  assert.is((await v.read(token)).sub, 'user-1');
  const unreachable = verifier({ jwksUrl: 'http://127.0.0.1:1/jwks', issuer: down.issuer, audience: 'account-api', tokens: 'oidc', acceptedTypes: ['JWT'] });
  assert.is(await codeOf(unreachable.read(token)), 'ERR_STORAGE_UNAVAILABLE');
});

P.run();

const J = suite('JwtSessionVerifier: this library\'s tokens through the issuer\'s JWKS');

J('strict rules hold with keys from a JWK Set: our typ and claims required; a rotation on the issuer is picked up', async () => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const first = { kid: 'es-1', algorithm: 'ES256' as const, privateKey: await exportJWK(privateKey) };
  let issuer = new JwtUserSessionManager({
    keys: first,
    issuer: ISSUER,
    audience: AUDIENCE,
    refreshTokenStore: new ReferenceRefreshTokenStore(),
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
  });
  const server: Server = createServer((req, res) => {
    void issuer.jwks().then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  later(server, () => new Promise((resolve) => server.close(resolve)));
  const v = verifier({ jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, jwksCooldown: 0 });
  const t = await issuer.create('alice');
  assert.is((await v.read(t.accessToken)).sid, t.sessionId);
  const now = Math.floor(Date.now() / 1000);
  const jwtTyped = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', sid: t.sessionId, jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: 'es-1', typ: 'JWT' })
    .sign(privateKey);
  assert.is(await codeOf(v.read(jwtTyped)), 'ERR_AUTH_TOKEN_INVALID');
  const noSid = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt' })
    .sign(privateKey);
  assert.is(await codeOf(v.read(noSid)), 'ERR_AUTH_TOKEN_INVALID');

  // Rotation: the issuer signs with a new key and publishes both; the verifier fetches the new kid on first sight.
  const next = await generateKeyPair('ES256', { extractable: true });
  await issuer.close();
  issuer = new JwtUserSessionManager({
    keys: [{ kid: 'es-2', algorithm: 'ES256', privateKey: await exportJWK(next.privateKey) }, first],
    issuer: ISSUER,
    audience: AUDIENCE,
    refreshTokenStore: new ReferenceRefreshTokenStore(),
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
  });
  later(issuer, () => issuer.close());
  const rotated = await issuer.create('bob');
  assert.is((await v.read(rotated.accessToken)).sub, 'bob');
  assert.is((await v.read(t.accessToken)).sub, 'alice', 'tokens under the previous key still verify');
});

J('teardown', async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

J.run();

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DPOP_REFUSAL_REASONS,
  JwtSessionVerifier,
  checkBoundRequest,
  checkFreshness,
  JwtUserSessionManager,
  LogoutTokenVerifier,
  SESSION_ERROR_REASONS,
  SessionError,
  isSessionError,
  storeInput,
  type InvalidationBroadcaster,
  type JwtSessionVerifierOptions,
  type SessionErrorCode,
  type SessionErrorReason,
} from '../src/index.js';
import { AUDIENCE, HEADER, ISSUER, SECRET, claimsAt, forge, harness, type Harness } from './helpers.js';
import { ReferenceDpopReplayCache, ReferenceInvalidAccessTokenCache } from './reference-storage.js';
import { OidcProvider } from './oidc-provider.js';

/*
 * Issue #19 §2: every refusal says why, to the operator. Each reason of
 * SESSION_ERROR_REASONS is produced here through the public API (the
 * manager's read/update/create/delete*, the verifier on both of its
 * verification paths, the stores), with its code. The last test checks that
 * the list and this file agree: a reason added without a case here fails.
 */

/** Reasons produced by a storage package, not session-core: store_full is the memory store's (storage-memory/test/memory.test.ts). */
// store_full: only the memory store (storage-memory memory.test.ts). The DPoP reasons: one refusal per rule
// of RFC 9449 §4.3 in dpop-proof.test.ts (code and reason asserted), replayed in dpop-replay.test.ts.
const ACCESS_TOKEN_TOO: ReadonlySet<string> = new Set(['malformed', 'header', 'type', 'algorithm', 'signature']);
const ELSEWHERE: ReadonlySet<SessionErrorReason> = new Set(['store_full', ...DPOP_REFUSAL_REASONS.filter((reason) => !ACCESS_TOKEN_TOO.has(reason))]);

const seen = new Set<SessionErrorReason>();

/** The SessionError `call` rejects (or throws) with; asserts its code and reason and records the reason. */
async function refused(call: Promise<unknown> | (() => unknown), code: SessionErrorCode, reason: SessionErrorReason, what: string): Promise<SessionError> {
  let error: unknown;
  try {
    await (typeof call === 'function' ? call() : call);
  } catch (thrown) {
    error = thrown;
  }
  assert.ok(isSessionError(error), `${what}: expected a SessionError, got ${String(error)}`);
  const e = error as SessionError;
  assert.is(e.code, code, `${what}: code`);
  assert.is(e.reason, reason, `${what}: reason`);
  seen.add(reason);
  return e;
}

const closers: (() => unknown)[] = [];
function track(h: Harness): Harness {
  closers.push(() => h.close());
  return h;
}

function verifier(options: Partial<JwtSessionVerifierOptions>): JwtSessionVerifier {
  const v = new JwtSessionVerifier({ issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(), ...options } as JwtSessionVerifierOptions);
  closers.push(() => v.close());
  return v;
}

const KEYS = { kid: 'k1', algorithm: 'HS256', secret: SECRET } as const;

/**
 * Access tokens refused for one reason each, hand-signed with the test
 * secret. `jose` lists the reason the jose path (a verifier with
 * `tokens: 'oidc'`) gives when it differs: that path accepts other headers
 * and types, and checks in jose's order.
 */
function badTokens(now: number): { reason: SessionErrorReason; code: SessionErrorCode; token: string; jose?: SessionErrorReason | 'accepted' }[] {
  const claims = claimsAt(now);
  const { sid: _sid, ...withoutSid } = claims;
  const { sub: _sub, ...withoutSub } = claims;
  const seconds = Math.floor(now / 1000);
  return [
    { reason: 'malformed', code: 'ERR_AUTH_TOKEN_INVALID', token: 'not-a-jwt' },
    { reason: 'malformed', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, '[1, 2, 3]') },
    // jose refuses an unknown critical header parameter as unsupported.
    { reason: 'header', code: 'ERR_AUTH_TOKEN_INVALID', token: forge({ ...HEADER, crit: ['zip2'], zip2: true }, claims) },
    { reason: 'type', code: 'ERR_AUTH_TOKEN_INVALID', token: forge({ ...HEADER, typ: 'id+jwt' }, claims) },
    { reason: 'unknown_key', code: 'ERR_AUTH_TOKEN_INVALID', token: forge({ ...HEADER, kid: 'k9' }, claims) },
    { reason: 'algorithm', code: 'ERR_AUTH_TOKEN_INVALID', token: forge({ ...HEADER, alg: 'HS384' }, claims, SECRET, 'sha384') },
    { reason: 'signature', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, claims, 'another-secret-another-secret-another-secret') },
    // sid is this library's claim: a provider's token need not carry it.
    { reason: 'missing_claim', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, withoutSid), jose: 'accepted' },
    { reason: 'missing_claim', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, withoutSub) },
    { reason: 'invalid_claim', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, nbf: 'soon' }) },
    { reason: 'invalid_claim', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, sub: '' }) },
    { reason: 'issuer', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, iss: 'https://elsewhere.test' }) },
    { reason: 'audience', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, aud: 'another-api' }) },
    { reason: 'not_yet_valid', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, nbf: seconds + 3600 }) },
    { reason: 'issued_in_future', code: 'ERR_AUTH_TOKEN_INVALID', token: forge(HEADER, { ...claims, iat: seconds + 3600, exp: seconds + 7200 }) },
    { reason: 'expired', code: 'ERR_AUTH_TOKEN_EXPIRED', token: forge(HEADER, { ...claims, iat: seconds - 7200, exp: seconds - 3600 }) },
  ];
}

const S = suite('reasons: every refusal says why');

S.after(async () => {
  for (const close of closers.splice(0)) await close();
});

S('access tokens: read() on the synchronous path, the verifier with keys, and the verifier on jose (tokens: oidc)', async () => {
  const h = track(harness());
  const own = verifier({ keys: KEYS });
  const oidc = verifier({ keys: KEYS, tokens: 'oidc' });
  for (const { reason, code, token, jose } of badTokens(h.clock.now)) {
    await refused(h.manager.read(token), code, reason, `manager.read: ${reason}`);
    await refused(own.read(token), code, reason, `verifier.read: ${reason}`);
    if (jose === 'accepted') assert.ok(await oidc.read(token));
    else await refused(oidc.read(token), code, jose ?? reason, `oidc verifier.read: ${reason}`);
  }
});

S('the jose path maps the key choice too: no key of that kid, or a key of another algorithm', async () => {
  const two = verifier({ keys: [KEYS, { kid: 'k2', algorithm: 'HS384', secret: `${SECRET}-0123456789-0123456789` }], tokens: 'oidc' });
  const claims = claimsAt(Date.now());
  await refused(two.read(forge({ ...HEADER, kid: 'k9' }, claims)), 'ERR_AUTH_TOKEN_INVALID', 'unknown_key', 'an unknown kid');
  await refused(two.read(forge({ ...HEADER, kid: 'k2' }, claims)), 'ERR_AUTH_TOKEN_INVALID', 'algorithm', 'HS256 under the HS384 key');
});

S('revocation: a revoked session, a subject revoked everywhere', async () => {
  const h = track(harness());
  const tokens = await h.manager.create('alice');
  await h.manager.read(tokens.accessToken);
  await h.manager.deleteOne('alice', tokens.sessionId);
  await refused(h.manager.read(tokens.accessToken), 'ERR_SESSION_REVOKED', 'session_revoked', 'after deleteOne');

  // A token of a session the store never knew, issued before the subject-wide revocation.
  const stray = forge(HEADER, claimsAt(h.clock.now));
  await h.manager.read(stray);
  const done = h.manager.deleteAll('alice');
  h.clock.now += 1;
  await done;
  await refused(h.manager.read(stray), 'ERR_SESSION_REVOKED', 'subject_revoked', 'after deleteAll');

  const cache = new ReferenceInvalidAccessTokenCache();
  cache.invalidateSession('AAAAsessionidsessionidsess', 60_000);
  const revoking = verifier({ keys: KEYS, invalidAccessTokenCache: cache });
  await refused(revoking.read(stray), 'ERR_SESSION_REVOKED', 'session_revoked', 'verifier: a revoked session');
  const subjects = new ReferenceInvalidAccessTokenCache();
  subjects.invalidateSubject('alice', Date.now(), 60_000);
  await refused(verifier({ keys: KEYS, invalidAccessTokenCache: subjects }).read(stray), 'ERR_SESSION_REVOKED', 'subject_revoked', 'verifier: a revoked subject');
});

S('refresh tokens: format, mac, unknown session, expiry, idle timeout, reuse', async () => {
  const h = track(harness({ refreshTokenReuseInterval: 0, refreshTokenTtl: 3600, refreshTokenIdleTtl: 600 }));
  await refused(h.manager.update('not-a-refresh-token'), 'ERR_REFRESH_TOKEN_INVALID', 'format', 'garbage');

  const first = await h.manager.create('alice');
  const [sessionId, deadline, secret, mac] = first.refreshToken.split('.') as [string, string, string, string];
  const forged = `${sessionId}.${deadline}.${secret}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
  await refused(h.manager.update(forged), 'ERR_REFRESH_TOKEN_INVALID', 'mac', 'a mac not made with the key');

  const second = await h.manager.update(first.refreshToken);
  await refused(h.manager.update(first.refreshToken), 'ERR_REFRESH_TOKEN_REUSED', 'reused_previous', 'the previous token after the interval');
  await refused(h.manager.update(second.refreshToken), 'ERR_REFRESH_TOKEN_INVALID', 'unknown_session', 'a session the reuse ended');
  const chain = await h.manager.create('alice');
  const next = await h.manager.update(chain.refreshToken);
  await h.manager.update(next.refreshToken);
  await refused(h.manager.update(chain.refreshToken), 'ERR_REFRESH_TOKEN_REUSED', 'reused_ancestor', 'a token two rotations old');
  // reused_branch: the store restored from a backup taken before the client's last rotations.
  const branch = await h.manager.update((await h.manager.create('alice')).refreshToken);
  const backup = h.store.snapshot(branch.sessionId);
  const ahead = await h.manager.update((await h.manager.update(branch.refreshToken)).refreshToken);
  h.store.restore(backup);
  await refused(h.manager.update(ahead.refreshToken), 'ERR_REFRESH_TOKEN_REUSED', 'reused_branch', 'a token past the store\'s chain');

  const idle = await h.manager.create('alice');
  h.clock.now += 601_000;
  await refused(h.manager.update(idle.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED', 'idle_timeout', 'unused for longer than refreshTokenIdleTtl');

  // Refreshed every 500 s, so only the absolute lifetime ends it.
  let busy = await h.manager.create('bob');
  for (let n = 0; n < 7; n++) {
    h.clock.now += 500_000;
    busy = await h.manager.update(busy.refreshToken);
  }
  h.clock.now += 500_000;
  await refused(h.manager.update(busy.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED', 'expired', 'past refreshTokenTtl');

  // The store forgot it (swept), and the token's own deadline has passed.
  const gone = await h.manager.create('carol');
  await h.store.delete('carol', gone.sessionId, h.clock.now);
  h.clock.now += 3_600_000;
  await refused(h.manager.update(gone.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED', 'expired', 'forgotten by the store, past its deadline');
});

S('storage: the store, the invalidation cache, the broadcaster, the key set', async () => {
  const h = track(harness());
  const tokens = await h.manager.create('alice');
  h.store.rotate = async () => {
    throw new Error('connection reset');
  };
  await refused(h.manager.update(tokens.refreshToken), 'ERR_STORAGE_UNAVAILABLE', 'store', 'rotate threw');

  h.cache.invalidateSession = () => {
    throw new Error('cache down');
  };
  await refused(h.manager.deleteOne('alice', tokens.sessionId), 'ERR_STORAGE_UNAVAILABLE', 'cache', 'the invalidation cache threw');

  const down: InvalidationBroadcaster = {
    subscribe: () => ({
      ready: async () => undefined,
      publish: async () => {
        throw new Error('broker down');
      },
      close: async () => undefined,
    }),
  };
  const b = track(harness());
  const withBroadcaster = new JwtUserSessionManager({ keys: KEYS, issuer: ISSUER, audience: AUDIENCE, refreshTokenStore: b.store, invalidAccessTokenCache: b.cache, broadcaster: down });
  closers.push(() => withBroadcaster.close());
  const other = await withBroadcaster.create('bob');
  await refused(withBroadcaster.deleteOne('bob', other.sessionId), 'ERR_STORAGE_UNAVAILABLE', 'broadcast', 'the broadcast failed');

  // Nothing listens on port 9 of the loopback: the key set cannot be fetched.
  const remote = verifier({ jwksUrl: 'http://127.0.0.1:9/jwks', jwksTimeout: 500 } as Partial<JwtSessionVerifierOptions>);
  await refused(remote.ready(), 'ERR_STORAGE_UNAVAILABLE', 'jwks', 'ready() without the key set');
  await refused(remote.read(forge({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }, claimsAt(Date.now()))), 'ERR_STORAGE_UNAVAILABLE', 'jwks', 'read() without the key set');
});

S('the verifier alone: a key jose cannot use, a lifetime over maxTokenLifetime, an ID token, a client not allowed', async () => {
  // A JWK Set whose only key is RSA under 2048 bits (jose refuses it), on a loopback server.
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ ...weak, kid: 'weak', alg: 'RS256' }] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  const remote = verifier({ jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, tokens: 'oidc' } as Partial<JwtSessionVerifierOptions>);
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 300 };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  await refused(remote.read(`${b64({ alg: 'RS256', kid: 'weak', typ: 'at+jwt' })}.${b64(claims)}.${Buffer.alloc(128, 1).toString('base64url')}`), 'ERR_AUTH_TOKEN_INVALID', 'unusable_key', 'a kid naming a 1024-bit RSA key');

  const oidc = verifier({ keys: KEYS, tokens: 'oidc', maxTokenLifetime: 3600, allowedClients: ['web'] } as Partial<JwtSessionVerifierOptions>);
  const provider: Record<string, unknown> = { ...claimsAt(Date.now()), client_id: 'web' };
  const long = { ...provider, exp: (provider.iat as number) + 7200 };
  await refused(oidc.read(forge(HEADER, long)), 'ERR_AUTH_TOKEN_INVALID', 'lifetime', 'a token living two hours under maxTokenLifetime 3600');
  await refused(oidc.read(forge(HEADER, { ...provider, nonce: 'n-0S6_WzA2Mj' })), 'ERR_AUTH_TOKEN_INVALID', 'id_token', 'a token with an ID token\'s nonce');
  await refused(oidc.read(forge(HEADER, { ...provider, client_id: 'other' })), 'ERR_AUTH_TOKEN_INVALID', 'client', 'a client_id not allowed');
  assert.is((await oidc.read(forge(HEADER, provider))).sub, provider.sub);
});

S('bad arguments and configuration', async () => {
  const h = track(harness());
  await refused(h.manager.create(''), 'ERR_CLAIMS_INVALID', 'subject', 'an empty subject');
  await refused(h.manager.deleteOne('alice', 42 as never), 'ERR_CLAIMS_INVALID', 'session_id', 'a session id that is not a string');
  await refused(h.manager.create('alice', { claims: { sub: 'mallory' } }), 'ERR_CLAIMS_INVALID', 'claims', 'a registered claim');
  await refused(h.manager.create('alice', { context: { ip: 7 } as never }), 'ERR_CLAIMS_INVALID', 'context', 'a context field of the wrong type');
  await refused(h.manager.create('alice', { device: { summary: 'Firefox on macOS' } as never }), 'ERR_CLAIMS_INVALID', 'device', 'a device without its network');
  await refused(h.manager.create('alice', 'options' as never), 'ERR_CLAIMS_INVALID', 'input', 'options that are not an object');
  await refused(() => storeInput.rotate({ sessionId: 'x' }), 'ERR_CLAIMS_INVALID', 'input', 'a rotate request without hashes');
  await refused(h.manager.create('alice', { upstream: { issuer: '', subject: 'u' } }), 'ERR_CLAIMS_INVALID', 'upstream', 'an upstream identity with an empty issuer');
  await refused(() => new JwtUserSessionManager({ keys: KEYS } as never), 'ERR_CONFIG_INVALID', 'option', 'a manager without issuer');
  await h.manager.close();
  await refused(h.manager.create('alice'), 'ERR_CONFIG_INVALID', 'closed', 'a closed manager');
  // Built outside the library without one.
  const outside = await refused(() => {
    throw new SessionError('ERR_CLAIMS_INVALID');
  }, 'ERR_CLAIMS_INVALID', 'unspecified', 'no reason given');
  assert.is(new SessionError('ERR_CLAIMS_INVALID', undefined, undefined, 'no such reason' as never).reason, 'unspecified');
  assert.is(outside.reason, 'unspecified');
});

S('a back-channel logout token without the logout event', async () => {
  const idp = await OidcProvider.start(['ES256']);
  try {
    const verifier = new LogoutTokenVerifier({ providers: [{ issuer: idp.issuer, clientId: 'app', jwksUrl: idp.jwksUrl }], replayCache: new ReferenceDpopReplayCache() });
    const token = await idp.sign({ aud: 'app', sid: 'sid-1' }, { typ: 'logout+jwt' });
    await refused(verifier.verify(token), 'ERR_AUTH_TOKEN_INVALID', 'events', 'a logout token without events');
  } finally {
    await idp.stop();
  }
});

S('DPoP required: an unbound refresh token, an unbound access token', async () => {
  const h = track(harness());
  const tokens = await h.manager.create('alice');
  await refused(h.manager.update(tokens.refreshToken, { dpop: { required: true } }), 'ERR_REFRESH_TOKEN_INVALID', 'unbound', 'an unbound session refreshed where DPoP is required');
  const claims = await h.manager.read(tokens.accessToken);
  const request = { claims, accessToken: tokens.accessToken, proof: undefined, method: 'GET', url: 'https://api.test/x', required: true };
  await refused(checkBoundRequest(request), 'ERR_AUTH_TOKEN_INVALID', 'unbound', 'an unbound access token where DPoP is required');
});

S('step-up (RFC 9470): no auth_time, a stale one, a missing acr, a missing amr method', async () => {
  const h = track(harness());
  const tokens = await h.manager.create('alice', { authTime: Math.floor(h.clock.now / 1000) - 600, amr: ['pwd'], acr: 'loa1' });
  const claims = await h.manager.read(tokens.accessToken);
  const { auth_time: _t, ...noAuthTime } = claims;
  await refused(() => checkFreshness(noAuthTime, { maxAge: 300 }, h.clock.now), 'ERR_AUTH_NOT_FRESH', 'auth_time', 'a token without auth_time');
  await refused(() => checkFreshness(claims, { maxAge: 300 }, h.clock.now), 'ERR_AUTH_NOT_FRESH', 'stale', 'an authentication ten minutes old under maxAge 300');
  await refused(() => checkFreshness(claims, { maxAge: 900, acr: ['loa2'] }, h.clock.now), 'ERR_AUTH_NOT_FRESH', 'acr', 'acr loa1 where loa2 is asked');
  await refused(() => checkFreshness(claims, { maxAge: 900, amr: ['otp'] }, h.clock.now), 'ERR_AUTH_NOT_FRESH', 'amr', 'amr pwd where otp is asked');
});

S('drift (issue 22): the revoke policy refuses a refresh from another network; the refresh policy refuses an access token from one', async () => {
  const laptop = { summary: 'Firefox on macOS', network: '203.0.113.0/24' };
  const revoking = track(harness({ drift: 'revoke' }));
  const a = await revoking.manager.create('alice', { device: laptop });
  await refused(revoking.manager.update(a.refreshToken, { device: { ...laptop, network: '198.51.100.0/24' } }), 'ERR_REFRESH_TOKEN_INVALID', 'drift', 'a refresh from another network under revoke');
  const refreshing = track(harness({ drift: 'refresh' }));
  const b = await refreshing.manager.create('alice', { device: laptop });
  const claims = await refreshing.manager.read(b.accessToken);
  await refused(() => refreshing.manager.checkNetwork(claims, '198.51.100.0/24'), 'ERR_AUTH_TOKEN_INVALID', 'drift', 'an access token presented from another network under refresh');
});

S('every reason of SESSION_ERROR_REASONS was produced above, with its code', () => {
  const missing = SESSION_ERROR_REASONS.filter((reason) => !seen.has(reason) && !ELSEWHERE.has(reason));
  assert.equal(missing, [], `reasons never produced: ${missing.join(', ')}`);
});

S.run();

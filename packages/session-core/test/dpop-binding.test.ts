import * as dpop from 'dpop';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DPOP_BINDING_REFUSED,
  JwtSessionVerifier,
  REFRESH_TOKEN_REUSED,
  checkBoundRequest,
  isSessionError,
  verifyDpopProof,
  type DpopBindingRefusal,
  type RefreshTokenStore,
  type SessionErrorCode,
} from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness, type Harness } from './helpers.js';
import { OidcProvider } from './oidc-provider.js';
import { ReferenceDpopReplayCache, ReferenceInvalidAccessTokenCache } from './reference-storage.js';

/*
 * Sessions bound to a DPoP key (RFC 9449 §5, §6.1) through the public API:
 * the binding recorded with the session and carried by every token; a
 * refresh by another key, or by none, refused before any store call and not
 * taken for reuse; and checkBoundRequest, the rule of §7.1 a guard applies to
 * a bound access token (no downgrade to Bearer). Keys and proofs are made by
 * panva's `dpop` package, an implementation no one here wrote.
 */
const S = suite('DPoP-bound sessions');

const SIGN_IN = 'https://app.example.com/login';
const API = 'https://api.example.com/api/me';

interface Client {
  keypair: Awaited<ReturnType<typeof dpop.generateKeyPair>>;
  jkt: string;
}

async function client(): Promise<Client> {
  const keypair = await dpop.generateKeyPair('ES256');
  return { keypair, jkt: await dpop.calculateThumbprint(keypair.publicKey) };
}

/** What a sign-in or refresh endpoint does: verify the proof, hand its thumbprint to the manager. */
async function proofJkt(c: Client, url = SIGN_IN): Promise<string> {
  return verifyDpopProof(await dpop.generateProof(c.keypair, url, 'POST'), { method: 'POST', url }).jkt;
}

/** Counts the store calls a manager makes. */
function counting(h: Harness): { calls: number } {
  const count = { calls: 0 };
  for (const name of ['insert', 'rotate', 'list', 'delete', 'deleteAll', 'settleInsert'] as const) {
    const original = h.store[name].bind(h.store) as (...args: unknown[]) => unknown;
    (h.store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      count.calls++;
      return original(...args);
    };
  }
  return count;
}

function events(h: Harness): DpopBindingRefusal[] {
  const seen: DpopBindingRefusal[] = [];
  h.manager.on(DPOP_BINDING_REFUSED, (payload) => seen.push(payload));
  return seen;
}

async function refusedWith(promise: Promise<unknown>, code: SessionErrorCode, reason: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSessionError(error), String(error));
    assert.is(error.code, code);
    assert.is(error.reason, reason);
    return;
  }
  assert.unreachable(`accepted; expected ${code} (${reason})`);
}

S('a session created with a proof’s thumbprint records it: access tokens carry cnf.jkt, readAll shows it, refreshes keep it', async () => {
  const h = harness();
  const alice = await client();
  const jkt = await proofJkt(alice);
  const tokens = await h.manager.create('alice', { claims: { role: 'admin' }, dpop: { jkt } });
  const claims = await h.manager.read(tokens.accessToken);
  assert.equal(claims.cnf, { jkt });
  assert.is(claims.role, 'admin');
  assert.equal((await h.manager.readAll('alice'))[0]!.dpop, { jkt });
  // The refresh token names the key too (under its mac): five segments instead of four.
  assert.is(tokens.refreshToken.split('.').length, 5);
  assert.is(tokens.refreshToken.split('.')[3], jkt);

  h.clock.now += 1000;
  const next = await h.manager.update(tokens.refreshToken, { dpop: { jkt: await proofJkt(alice) } });
  assert.equal((await h.manager.read(next.accessToken)).cnf, { jkt });
  // New claims replace the app's claims, never the binding.
  h.clock.now += 1000;
  const third = await h.manager.update(next.refreshToken, { claims: { role: 'reader' }, dpop: { jkt } });
  const thirdClaims = await h.manager.read(third.accessToken);
  assert.equal([thirdClaims.role, thirdClaims.cnf], ['reader', { jkt }]);
  assert.equal((await h.manager.readAll('alice'))[0]!.dpop, { jkt });
  // Another refresh: the stored claims still hold it.
  const fourth = await h.manager.update(third.refreshToken, { dpop: { jkt } });
  assert.equal((await h.manager.read(fourth.accessToken)).cnf, { jkt });
  await h.close();
});

S('an unbound session has no cnf; a proof at its refresh does not bind it', async () => {
  const h = harness();
  const tokens = await h.manager.create('bob');
  assert.is((await h.manager.read(tokens.accessToken)).cnf, undefined);
  assert.is(tokens.refreshToken.split('.').length, 4);
  assert.is((await h.manager.readAll('bob'))[0]!.dpop, undefined);
  const next = await h.manager.update(tokens.refreshToken, { dpop: { jkt: await proofJkt(await client()) } });
  assert.is((await h.manager.read(next.accessToken)).cnf, undefined);
  assert.is(next.refreshToken.split('.').length, 4);
  await h.close();
});

S('a copied refresh token without the key: refused with ERR_DPOP_BINDING_MISMATCH before any store call, not reuse; the session survives', async () => {
  const h = harness({ refreshTokenReuseInterval: 0 });
  const alice = await client();
  const mallory = await client();
  const refusals = events(h);
  let reused = 0;
  h.manager.on(REFRESH_TOKEN_REUSED, () => reused++);
  const tokens = await h.manager.create('alice', { dpop: { jkt: await proofJkt(alice) } });
  const store = counting(h);

  // Mallory copied the cookie: no proof, then a valid proof by her own key.
  await refusedWith(h.manager.update(tokens.refreshToken), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(h.manager.update(tokens.refreshToken, {}), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(h.manager.update(tokens.refreshToken, { dpop: { jkt: await proofJkt(mallory) } }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  assert.is(store.calls, 0, 'refused before the store was asked anything');
  assert.equal(
    refusals.map(({ sessionId, reason }) => ({ sessionId, reason })),
    [
      { sessionId: tokens.sessionId, reason: 'no_proof' },
      { sessionId: tokens.sessionId, reason: 'no_proof' },
      { sessionId: tokens.sessionId, reason: 'other_key' },
    ],
  );
  // Nothing but the session id, why, and when: no token, no proof, no key.
  assert.equal(Object.keys(refusals[0]!).sort(), ['at', 'reason', 'sessionId']);
  assert.is(refusals[0]!.at, h.clock.now);

  // Alice's own refresh still works with the very token Mallory tried, and her access tokens were never revoked.
  assert.is(reused, 0);
  await h.manager.read(tokens.accessToken);
  const next = await h.manager.update(tokens.refreshToken, { dpop: { jkt: await proofJkt(alice) } });
  assert.is(next.sessionId, tokens.sessionId);
  assert.is((await h.manager.readAll('alice')).length, 1);
  await h.close();
});

S('the binding cannot be stripped or swapped: a bound refresh token edited in any segment fails its mac', async () => {
  const h = harness();
  const alice = await client();
  const mallory = await client();
  const tokens = await h.manager.create('alice', { dpop: { jkt: alice.jkt } });
  const [sid, deadline, secret, jkt, mac] = tokens.refreshToken.split('.') as [string, string, string, string, string];
  assert.is(jkt, alice.jkt);
  // Without the thumbprint it would read as an unbound token, needing no proof.
  await rejectsWith(h.manager.update(`${sid}.${deadline}.${secret}.${mac}`), 'ERR_REFRESH_TOKEN_INVALID');
  // With Mallory's thumbprint it would accept her proofs.
  await rejectsWith(h.manager.update(`${sid}.${deadline}.${secret}.${mallory.jkt}.${mac}`, { dpop: { jkt: mallory.jkt } }), 'ERR_REFRESH_TOKEN_INVALID');
  await h.manager.update(tokens.refreshToken, { dpop: { jkt: alice.jkt } });
  await h.close();
});

S('two tabs refreshing a bound session within the reuse interval both get bound pairs', async () => {
  const h = harness({ refreshTokenReuseInterval: 10 });
  const alice = await client();
  const tokens = await h.manager.create('alice', { dpop: { jkt: alice.jkt } });
  const [a, b] = await Promise.all([h.manager.update(tokens.refreshToken, { dpop: { jkt: alice.jkt } }), h.manager.update(tokens.refreshToken, { dpop: { jkt: alice.jkt } })]);
  assert.is(a!.refreshToken, b!.refreshToken);
  for (const pair of [a!, b!]) assert.equal((await h.manager.read(pair.accessToken)).cnf, { jkt: alice.jkt });
  await h.close();
});

S('a store that loses the claims cannot unbind a session: the refresh token’s binding is the one issued', async () => {
  const h = harness();
  const alice = await client();
  const tokens = await h.manager.create('alice', { dpop: { jkt: alice.jkt } });
  const forgetful = h.store as RefreshTokenStore;
  const rotate = forgetful.rotate.bind(forgetful);
  forgetful.rotate = async (request) => {
    const result = await rotate(request);
    return result.status === 'rotated' ? { ...result, session: { ...result.session, claims: {} } } : result;
  };
  const next = await h.manager.update(tokens.refreshToken, { dpop: { jkt: alice.jkt } });
  assert.equal((await h.manager.read(next.accessToken)).cnf, { jkt: alice.jkt });
  await rejectsWith(h.manager.update(next.refreshToken), 'ERR_DPOP_BINDING_MISMATCH');
  await h.close();
});

S('bad binding input is ERR_CLAIMS_INVALID; cnf is reserved to the binding', async () => {
  const h = harness();
  for (const dpopOption of [null, 'jkt', {}, { jkt: 'short' }, { jkt: 42 }, { jkt: `${'A'.repeat(42)}=` }]) {
    await rejectsWith(h.manager.create('alice', { dpop: dpopOption as never }), 'ERR_CLAIMS_INVALID', JSON.stringify(dpopOption));
  }
  const tokens = await h.manager.create('alice');
  for (const dpopOption of [null, 7, { jkt: 'short' }, { required: 'yes' }]) {
    await rejectsWith(h.manager.update(tokens.refreshToken, { dpop: dpopOption as never }), 'ERR_CLAIMS_INVALID', JSON.stringify(dpopOption));
  }
  const error = await rejectsWith(h.manager.create('alice', { claims: { cnf: { jkt: 'A'.repeat(43) } } }), 'ERR_CLAIMS_INVALID');
  assert.is(error.reason, 'claims');
  await rejectsWith(h.manager.update(tokens.refreshToken, { claims: { cnf: {} } }), 'ERR_CLAIMS_INVALID');
  // Refused input changed nothing: the token still works.
  await h.manager.update(tokens.refreshToken);
  await h.close();
});

const C = suite('checkBoundRequest: the resource rule for a bound access token (RFC 9449 §7.1)');

async function boundSession(): Promise<{ h: Harness; alice: Client; accessToken: string; claims: Awaited<ReturnType<Harness['manager']['read']>> }> {
  const h = harness();
  const alice = await client();
  const { accessToken } = await h.manager.create('alice', { dpop: { jkt: alice.jkt } });
  return { h, alice, accessToken, claims: await h.manager.read(accessToken) };
}

C('a proof by the bound key, for this request and this token, is accepted once (with a replay cache)', async () => {
  const { h, alice, accessToken, claims } = await boundSession();
  const replayCache = new ReferenceDpopReplayCache();
  const proof = await dpop.generateProof(alice.keypair, API, 'GET', undefined, accessToken);
  const request = { claims, accessToken, proof, scheme: 'DPoP', method: 'GET', url: API, replayCache };
  const verified = await checkBoundRequest(request);
  assert.is(verified?.jkt, alice.jkt);
  // The same proof again (here, or on another node sharing the cache): replayed.
  await refusedWith(checkBoundRequest(request), 'ERR_DPOP_PROOF_INVALID', 'replayed');
  await refusedWith(checkBoundRequest({ ...request, replayCache: replayCache.peer() }), 'ERR_DPOP_PROOF_INVALID', 'replayed');
  await h.close();
});

C('no downgrade: a bound token as Bearer, or without a proof, is refused', async () => {
  const { h, alice, accessToken, claims } = await boundSession();
  const proof = await dpop.generateProof(alice.keypair, API, 'GET', undefined, accessToken);
  const request = { claims, accessToken, method: 'GET', url: API };
  await refusedWith(checkBoundRequest({ ...request, proof: undefined, scheme: 'Bearer' }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(checkBoundRequest({ ...request, proof, scheme: 'Bearer' }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(checkBoundRequest({ ...request, proof: undefined }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(checkBoundRequest({ ...request, proof: [], scheme: 'DPoP' }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  assert.is((await checkBoundRequest({ ...request, proof, scheme: 'dpop' }))?.jkt, alice.jkt, 'the scheme is case-insensitive (RFC 9110 §11.1)');
  await h.close();
});

C('a proof by another key, for another token, request or URL, or two DPoP headers, is refused', async () => {
  const { h, alice, accessToken, claims } = await boundSession();
  const mallory = await client();
  const request = { claims, accessToken, scheme: 'DPoP', method: 'GET', url: API };
  await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof(mallory.keypair, API, 'GET', undefined, accessToken) }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof(alice.keypair, API, 'GET', undefined, 'another.access.token') }), 'ERR_DPOP_PROOF_INVALID', 'ath');
  await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof(alice.keypair, API, 'GET') }), 'ERR_DPOP_PROOF_INVALID', 'ath');
  await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof(alice.keypair, API, 'POST', undefined, accessToken) }), 'ERR_DPOP_PROOF_INVALID', 'htm');
  await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof(alice.keypair, `${API}/other`, 'GET', undefined, accessToken) }), 'ERR_DPOP_PROOF_INVALID', 'htu');
  const proof = await dpop.generateProof(alice.keypair, API, 'GET', undefined, accessToken);
  await refusedWith(checkBoundRequest({ ...request, proof: [proof, proof] }), 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  await refusedWith(checkBoundRequest({ ...request, proof, nonce: 'server-nonce' }), 'ERR_DPOP_NONCE_REQUIRED', 'nonce');
  await h.close();
});

C('an unbound token is left to bearer rules unless DPoP is required; a cnf it cannot check is refused', async () => {
  const h = harness();
  const { accessToken } = await h.manager.create('bob');
  const claims = await h.manager.read(accessToken);
  assert.is(await checkBoundRequest({ claims, accessToken, proof: undefined, scheme: 'Bearer', method: 'GET', url: API }), undefined);
  await refusedWith(checkBoundRequest({ claims, accessToken, proof: undefined, method: 'GET', url: API, required: true }), 'ERR_AUTH_TOKEN_INVALID', 'unbound');
  // A token bound some other way (RFC 8705 mTLS) or with a garbled cnf: not checkable here, so refused.
  for (const cnf of [{ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }, null, 'jkt', { jkt: 'short' }]) {
    await refusedWith(checkBoundRequest({ claims: { ...claims, cnf }, accessToken, proof: undefined, method: 'GET', url: API }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  }
  await h.close();
});

C('bad options are ERR_CONFIG_INVALID, never a crash', async () => {
  const base = { claims: { cnf: { jkt: 'A'.repeat(43) } }, accessToken: 'a.b.c', proof: 'x.y.z', method: 'GET', url: API };
  const hostile = new Proxy(base, {
    get() {
      throw new Error('boom');
    },
  });
  for (const options of [{ ...base, claims: null }, { ...base, scheme: 7 }, { ...base, replayCache: {} }, hostile, { ...base, method: undefined }]) {
    await rejectsWith(checkBoundRequest(options as never), 'ERR_CONFIG_INVALID');
  }
});

C('JwtSessionVerifier (tokens: oidc): another provider’s DPoP-bound token is checked on its claims the same way', async () => {
  const provider = await OidcProvider.start(['ES256']);
  const verifier = new JwtSessionVerifier({
    jwksUrl: provider.jwksUrl,
    issuer: provider.issuer,
    audience: 'account-api',
    tokens: 'oidc',
    acceptedTypes: ['at+jwt'],
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
  });
  try {
    const alice = await client();
    // RFC 9449 §6.1: the provider puts the client key's thumbprint in the access token it issues.
    const accessToken = await provider.sign({ cnf: { jkt: alice.jkt } }, { typ: 'at+jwt' });
    const claims = await verifier.read(accessToken);
    const request = { claims, accessToken, scheme: 'DPoP', method: 'GET', url: API };
    assert.is((await checkBoundRequest({ ...request, proof: await dpop.generateProof(alice.keypair, API, 'GET', undefined, accessToken) }))?.jkt, alice.jkt);
    await refusedWith(checkBoundRequest({ ...request, proof: undefined }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
    await refusedWith(checkBoundRequest({ ...request, proof: await dpop.generateProof((await client()).keypair, API, 'GET', undefined, accessToken) }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  } finally {
    await verifier.close();
    await provider.stop();
  }
});

S.run();
C.run();

import * as dpop from 'dpop';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accessTokenHash, jwkThumbprint, verifyDpopProof, type DpopAlgorithm } from '../src/index.js';
import { refused } from './dpop-helpers.js';

/*
 * Interop with an implementation no one here wrote: proofs made by panva's
 * `dpop` package (WebCrypto keys, its own JWS code) verify with
 * verifyDpopProof, and the thumbprints agree with its and jose's.
 */
const S = suite('DPoP interop with the dpop package');
const HTU = 'https://api.example.com/api/me';
const TOKEN = 'an.access.token';
const ALGORITHMS: DpopAlgorithm[] = ['ES256', 'Ed25519', 'RS256', 'PS256'];

for (const alg of ['ES256', 'Ed25519', 'RS256', 'PS256'] as const) {
  S(`${alg}: a proof with ath and nonce verifies; the thumbprint is dpop's and jose's`, async () => {
    const keypair = await dpop.generateKeyPair(alg);
    const proof = await dpop.generateProof(keypair, HTU, 'GET', 'the-nonce', TOKEN);
    const jkt = await dpop.calculateThumbprint(keypair.publicKey);
    const verified = verifyDpopProof(proof, { method: 'GET', url: HTU, accessToken: TOKEN, nonce: 'the-nonce', expectedJkt: jkt, algorithms: ALGORITHMS, now: Date.now() });
    assert.is(verified.jkt, jkt);
    assert.is(verified.algorithm, alg);
    const jwk = await exportJWK(keypair.publicKey);
    assert.is(jwkThumbprint(jwk), await calculateJwkThumbprint(jwk, 'sha256'));
    assert.is(jwkThumbprint(jwk), jkt);
    // The same proof for another request, another token or another key is refused.
    const check = { method: 'GET', url: HTU, accessToken: TOKEN, nonce: 'the-nonce', algorithms: ALGORITHMS, now: Date.now() };
    refused(() => verifyDpopProof(proof, { ...check, method: 'POST' }), 'ERR_DPOP_PROOF_INVALID', 'htm');
    refused(() => verifyDpopProof(proof, { ...check, url: `${HTU}/x` }), 'ERR_DPOP_PROOF_INVALID', 'htu');
    refused(() => verifyDpopProof(proof, { ...check, accessToken: 'another' }), 'ERR_DPOP_PROOF_INVALID', 'ath');
    refused(() => verifyDpopProof(proof, { ...check, nonce: 'newer' }), 'ERR_DPOP_NONCE_REQUIRED', 'nonce');
    refused(() => verifyDpopProof(proof, { ...check, expectedJkt: 'x'.repeat(43) }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  });
}

S('a proof without ath or nonce (a token request) verifies when neither is expected', async () => {
  const keypair = await dpop.generateKeyPair('ES256');
  const proof = await dpop.generateProof(keypair, `${HTU}?ignored=1`, 'POST');
  const verified = verifyDpopProof(proof, { method: 'POST', url: HTU, now: Date.now() });
  assert.is(verified.nonce, undefined);
  assert.is(accessTokenHash(TOKEN), Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(TOKEN))).toString('base64url'));
});

S.run();

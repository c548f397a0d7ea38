import { calculateJwkThumbprint } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DpopNonces, MAX_DPOP_PROOF_LENGTH, jwkThumbprint, verifyDpopProof, type DpopAlgorithm } from '../src/index.js';
import { proofKeys } from '../src/dpop/proof.js';
import { ACCESS_TOKEN, DEFAULT_KEY, IAT, METHOD, NOW, URL_, ath, baseCheck, macProof, makeKey, proof, refused } from './dpop-helpers.js';

/*
 * verifyDpopProof by the rules of RFC 9449 §4.3: each test breaks one rule in
 * a proof that is otherwise valid and validly signed, and asserts the code and
 * the reason, so that a refusal for another rule does not pass for this one.
 */
const S = suite('DPoP proofs: RFC 9449 §4.3, one rule at a time');
const verify = (p: unknown, overrides = {}) => verifyDpopProof(p, baseCheck(overrides));
const ALL: DpopAlgorithm[] = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

S('a valid proof passes and says what it proves', async () => {
  const result = verify(proof({ claims: { jti: 'the-jti' } }), { expectedJkt: jwkThumbprint(DEFAULT_KEY.jwk) });
  assert.is(result.jkt, await calculateJwkThumbprint(DEFAULT_KEY.jwk as never, 'sha256'));
  assert.is(result.jti, 'the-jti');
  assert.is(result.htm, METHOD);
  assert.is(result.htu, URL_);
  assert.is(result.iat, IAT);
  assert.is(result.algorithm, 'ES256');
  assert.is(result.nonce, 'server-nonce');
  assert.equal(result.jwk, { kty: 'EC', crv: 'P-256', x: DEFAULT_KEY.jwk.x, y: DEFAULT_KEY.jwk.y });
  // Accepted until iat + 60 s on this clock, + 5 s for a node whose clock is behind.
  assert.is(result.replayTtl, 65_000);
});

S('every algorithm of the allow-list verifies with its own key type', () => {
  const kinds = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519', Ed25519: 'Ed25519', PS256: 'RSA-PSS', RS256: 'RSA' } as const;
  for (const alg of ALL) {
    const key = { ...makeKey(kinds[alg]), alg };
    assert.is(verify(proof({ key }), { algorithms: ALL }).algorithm, alg, alg);
  }
});

S('step 2 and bounds: a proof longer than 8 KiB is refused before parsing', () => {
  const long = proof({ claims: { pad: 'x'.repeat(MAX_DPOP_PROOF_LENGTH) } });
  refused(() => verify(long), 'ERR_DPOP_PROOF_INVALID', 'too_large');
  // Just under the bound is read (and accepted).
  const fits = proof({ claims: { pad: 'x'.repeat(5500) } });
  assert.ok(fits.length <= MAX_DPOP_PROOF_LENGTH);
  verify(fits);
});

S('bounds: a header longer than 2,560 characters is refused before it is parsed', () => {
  refused(() => verify(proof({ header: { kid: 'k'.repeat(2000) } })), 'ERR_DPOP_PROOF_INVALID', 'too_large');
  verify(proof({ header: { kid: 'k'.repeat(100) } }));
});

S('step 2: not one compact JWS with JSON objects is malformed', () => {
  const good = proof();
  const [h, p, s] = good.split('.') as [string, string, string];
  const cases: unknown[] = [
    undefined,
    42,
    '',
    `${h}.${p}`,
    `${h}.${p}.${s}.x`,
    `${h}.${p}.${s}=`,
    `${h}..${s}`,
    `${h} .${p}.${s}`,
    proof({ rawPayload: Buffer.from('[1,2]').toString('base64url') }),
    proof({ rawPayload: Buffer.from('null').toString('base64url') }),
    proof({ rawPayload: Buffer.from('{"jti":').toString('base64url') }),
    proof({ rawPayload: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64url') }),
    proof({ rawHeader: Buffer.from('"dpop+jwt"').toString('base64url') }),
    proof({ rawHeader: Buffer.from('{"typ":').toString('base64url') }),
  ];
  for (const value of cases) refused(() => verify(value), 'ERR_DPOP_PROOF_INVALID', 'malformed');
});

S('step 4: typ must be dpop+jwt', () => {
  for (const typ of [undefined, 'JWT', 'at+jwt', 'DPOP+JWT', 'dpop+jwt ', ['dpop+jwt'], 1]) {
    refused(() => verify(proof({ header: { typ } })), 'ERR_DPOP_PROOF_INVALID', 'type');
  }
});

S('step 5: alg must be asymmetric and in the allow-list (default ES256 only)', () => {
  // none, a MAC, unknown names: never, whatever the allow-list says.
  refused(() => verify(macProof(), { algorithms: ALL }), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
  for (const alg of [undefined, 'none', 'HS256', 'es256', 'ES256K', 'RS512', 1]) {
    refused(() => verify(proof({ header: { alg } }), { algorithms: ALL }), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
  }
  // Known, but not allowed by default; allowed when listed.
  for (const [kind, alg] of [['Ed25519', 'EdDSA'], ['RSA', 'RS256'], ['RSA-PSS', 'PS256'], ['P-384', 'ES384']] as const) {
    const p = proof({ key: makeKey(kind) });
    refused(() => verify(p), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
    refused(() => verify(p, { algorithms: ['ES256'] }), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
    assert.is(verify(p, { algorithms: ['ES256', alg] }).algorithm, alg);
  }
});

S('step 5: a frozen allow-list is checked once and applied on every call', () => {
  const list = Object.freeze(['ES256', 'EdDSA'] as DpopAlgorithm[]);
  const ed = makeKey('Ed25519');
  for (let i = 0; i < 3; i++) {
    assert.is(verify(proof({ key: ed }), { algorithms: list }).algorithm, 'EdDSA');
    refused(() => verify(proof({ key: makeKey('P-384') }), { algorithms: list }), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
  }
});

S('step 5: an allow-list naming none, a MAC or nothing is a configuration error', () => {
  for (const algorithms of [['none'], ['HS256'], [], 'ES256', [1], new Array(1e9)]) {
    refused(() => verify(proof(), { algorithms }), 'ERR_CONFIG_INVALID');
  }
});

S('no crit: an extension the verifier cannot understand is refused', () => {
  refused(() => verify(proof({ header: { crit: ['exp'], exp: 1 } })), 'ERR_DPOP_PROOF_INVALID', 'header');
});

S('step 7: a jwk with any private member is refused', () => {
  for (const kind of ['P-256', 'Ed25519', 'RSA'] as const) {
    const key = makeKey(kind);
    const algorithms: DpopAlgorithm[] = ['ES256', 'EdDSA', 'RS256'];
    refused(() => verify(proof({ key, header: { jwk: key.privateJwk } }), { algorithms }), 'ERR_DPOP_PROOF_INVALID', 'private_key');
    verify(proof({ key }), { algorithms });
  }
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
    refused(() => verify(proof({ header: { jwk: { ...DEFAULT_KEY.jwk, [member]: 'AQAB' } } })), 'ERR_DPOP_PROOF_INVALID', 'private_key');
  }
});

S('the jwk must be a supported public key, of the type alg names', () => {
  const { x, y } = DEFAULT_KEY.jwk as { x: string; y: string };
  const p384 = makeKey('P-384');
  const cases: unknown[] = [
    undefined,
    'jwk',
    [DEFAULT_KEY.jwk],
    { kty: 'oct', k: undefined },
    { kty: 'EC', crv: 'P-256', x },
    { kty: 'EC', crv: 'P-256', x, y: y.slice(1) },
    { kty: 'EC', crv: 'P-256', x: `${x}A`, y },
    { kty: 'EC', crv: 'secp256k1', x, y },
    { kty: 'EC', crv: 'Ed25519', x },
    { kty: 'OKP', crv: 'P-256', x, y },
    { kty: 'ec', crv: 'P-256', x, y },
    // The right curve in the JWK, but a point that is not on it: node:crypto refuses the import.
    { kty: 'EC', crv: 'P-256', x, y: x },
    // The same point with a leading zero octet (33 bytes): node:crypto would import it, but RFC 7518 §6.2.1.2
    // fixes the length, and a second spelling of one key would have a second thumbprint.
    { kty: 'EC', crv: 'P-256', x, y: Buffer.concat([Buffer.alloc(1), Buffer.from(y, 'base64url')]).toString('base64url') },
    { kty: 'EC', crv: 'P-256', x: Buffer.concat([Buffer.alloc(1), Buffer.from(x, 'base64url')]).toString('base64url'), y },
    // A P-384 key under alg ES256.
    p384.jwk,
  ];
  for (const jwk of cases) refused(() => verify(proof({ header: { jwk } })), 'ERR_DPOP_PROOF_INVALID', 'jwk');
});

S('the jwk bounds: an RSA modulus under 2048 or over 8192 bits, or a large exponent, is refused', () => {
  const weak = makeKey('RSA-1024');
  refused(() => verify(proof({ key: weak }), { algorithms: ['RS256'] }), 'ERR_DPOP_PROOF_INVALID', 'jwk');
  const rsa = makeKey('RSA');
  // 8200 bits: fits in the header bound, refused by the key's; 16,000 bits: refused by the header's, unparsed.
  refused(() => verify(proof({ key: rsa, header: { jwk: { kty: 'RSA', n: Buffer.alloc(1025, 0xff).toString('base64url'), e: 'AQAB' } } }), { algorithms: ['RS256'] }), 'ERR_DPOP_PROOF_INVALID', 'jwk');
  refused(() => verify(proof({ key: rsa, header: { jwk: { kty: 'RSA', n: Buffer.alloc(2000, 0xff).toString('base64url'), e: 'AQAB' } } }), { algorithms: ['RS256'] }), 'ERR_DPOP_PROOF_INVALID', 'too_large');
  for (const jwk of [
    { kty: 'RSA', n: rsa.jwk.n, e: Buffer.alloc(5, 1).toString('base64url') },
    { kty: 'RSA', n: rsa.jwk.n, e: 'AAEAAQ' },
    { kty: 'RSA', n: `AA${rsa.jwk.n}`, e: 'AQAB' },
    { kty: 'RSA', n: rsa.jwk.n },
  ]) {
    refused(() => verify(proof({ key: rsa, header: { jwk } }), { algorithms: ['RS256'] }), 'ERR_DPOP_PROOF_INVALID', 'jwk');
  }
});

S('step 6: the signature must verify with the jwk', () => {
  const other = makeKey('P-256');
  refused(() => verify(proof({ signer: other.privateKey })), 'ERR_DPOP_PROOF_INVALID', 'signature');
  const good = proof();
  const [h, p, s] = good.split('.') as [string, string, string];
  const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
  refused(() => verify(`${h}.${p}.${flipped}`), 'ERR_DPOP_PROOF_INVALID', 'signature');
  // The payload of another valid proof under this signature.
  const [, p2] = proof({ claims: { jti: 'other' } }).split('.') as [string, string];
  refused(() => verify(`${h}.${p2}.${s}`), 'ERR_DPOP_PROOF_INVALID', 'signature');
  // An ECDSA signature in DER rather than R || S (RFC 7518 §3.4).
  refused(() => verify(`${h}.${p}.${Buffer.alloc(70, 1).toString('base64url')}`), 'ERR_DPOP_PROOF_INVALID', 'signature');
});

S('step 3: jti must be a string of 1 to 256 characters', () => {
  for (const jti of [undefined, '', 'j'.repeat(257), 42, ['a'], null]) {
    refused(() => verify(proof({ claims: { jti } })), 'ERR_DPOP_PROOF_INVALID', 'jti');
  }
  verify(proof({ claims: { jti: 'j'.repeat(256) } }));
});

S('step 8: htm must be the request method, exactly', () => {
  for (const htm of [undefined, 'GET', 'post', 'POST ', ['POST']]) {
    refused(() => verify(proof({ claims: { htm } })), 'ERR_DPOP_PROOF_INVALID', 'htm');
  }
  refused(() => verify(proof(), { method: 'GET' }), 'ERR_DPOP_PROOF_INVALID', 'htm');
});

S('step 9: htu must be the request URL, query and fragment ignored, normalised', () => {
  for (const htu of [
    undefined,
    'https://api.example.com/api/you',
    'https://api.example.com/api/me/',
    'https://api.example.com/api/ME',
    'http://api.example.com/api/me',
    'https://evil.example/api/me',
    'https://api.example.com:8443/api/me',
    'https://user@api.example.com/api/me',
    '/api/me',
    'wss://api.example.com/api/me',
    42,
  ]) {
    refused(() => verify(proof({ claims: { htu } })), 'ERR_DPOP_PROOF_INVALID', 'htu');
  }
  for (const htu of [
    'https://api.example.com/api/me?x=1',
    'https://api.example.com/api/me#frag',
    'HTTPS://API.EXAMPLE.COM/api/me',
    'https://api.example.com:443/api/me',
    'https://api.example.com/api/%6De',
    'https://api.example.com/api/x/../me',
  ]) {
    assert.is(verify(proof({ claims: { htu } })).htu, URL_, htu);
  }
  // The request side is normalised too.
  assert.is(verify(proof(), { url: 'https://API.example.com:443/api/m%65?q#f' }).htu, URL_);
  refused(() => verify(proof(), { url: 'not a url' }), 'ERR_DPOP_PROOF_INVALID', 'htu');
  refused(() => verify(proof(), { url: `${URL_}/${'a'.repeat(8200)}` }), 'ERR_DPOP_PROOF_INVALID', 'htu');
});

S('step 11: iat within 60 s past and 5 s ahead by default, and as configured', () => {
  verify(proof({ claims: { iat: IAT - 60 } }));
  verify(proof({ claims: { iat: IAT + 5 } }));
  verify(proof({ claims: { iat: IAT - 0.5 } }));
  for (const iat of [undefined, IAT - 61, IAT + 6, `${IAT}`, null, 1e300, -1]) {
    refused(() => verify(proof({ claims: { iat } })), 'ERR_DPOP_PROOF_INVALID', 'iat');
  }
  verify(proof({ claims: { iat: IAT - 100 } }), { maxAge: 120 });
  refused(() => verify(proof({ claims: { iat: IAT - 11 } }), { maxAge: 10 }), 'ERR_DPOP_PROOF_INVALID', 'iat');
  refused(() => verify(proof({ claims: { iat: IAT + 1 } }), { clockTolerance: 0 }), 'ERR_DPOP_PROOF_INVALID', 'iat');
  for (const bad of [{ maxAge: -1 }, { maxAge: Number.NaN }, { clockTolerance: '5' }, { now: 'now' }]) {
    refused(() => verify(proof(), bad), 'ERR_CONFIG_INVALID');
  }
});

S('step 12: with an access token, ath must be its SHA-256; without one, ath is not needed', () => {
  for (const value of [undefined, ath('another token'), ath(ACCESS_TOKEN).toUpperCase(), `${ath(ACCESS_TOKEN)}=`, 42]) {
    refused(() => verify(proof({ claims: { ath: value } })), 'ERR_DPOP_PROOF_INVALID', 'ath');
  }
  verify(proof({ claims: { ath: undefined } }), { accessToken: undefined });
});

S('step 10: the server nonce, when one is used: missing or stale is ERR_DPOP_NONCE_REQUIRED', () => {
  for (const nonce of [undefined, 'old-nonce', '', 42]) {
    refused(() => verify(proof({ claims: { nonce } })), 'ERR_DPOP_NONCE_REQUIRED', 'nonce');
  }
  verify(proof({ claims: { nonce: undefined } }), { nonce: undefined });
  const clock = { now: NOW };
  const nonces = new DpopNonces({ secret: 's'.repeat(32), clock: () => clock.now });
  const current = nonces.current();
  assert.is(verify(proof({ claims: { nonce: current } }), { nonce: nonces }).nonce, current);
  refused(() => verify(proof({ claims: { nonce: 'zzz.AAAAAAAAAAAAAAAAAAAAAA' } }), { nonce: nonces }), 'ERR_DPOP_NONCE_REQUIRED', 'nonce');
  clock.now += 2 * 300_000;
  refused(() => verify(proof({ claims: { nonce: current } }), { nonce: nonces }), 'ERR_DPOP_NONCE_REQUIRED', 'nonce');
  // A proof that fails its signature is refused as invalid, not answered with a nonce.
  refused(() => verify(proof({ claims: { nonce: undefined }, signer: makeKey('P-256').privateKey })), 'ERR_DPOP_PROOF_INVALID', 'signature');
});

S('step 12 and §6.1: a bound token needs a proof by its key (the thumbprint equals cnf.jkt)', () => {
  const other = makeKey('P-256');
  refused(() => verify(proof({ key: other }), { expectedJkt: jwkThumbprint(DEFAULT_KEY.jwk) }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  refused(() => verify(proof(), { expectedJkt: '' }), 'ERR_DPOP_BINDING_MISMATCH', 'binding');
  assert.is(verify(proof({ key: other }), { expectedJkt: jwkThumbprint(other.jwk) }).jkt, jwkThumbprint(other.jwk));
});

S('bad options are configuration errors, never request errors', () => {
  for (const overrides of [{ method: undefined }, { method: '' }, { accessToken: 42 }, { expectedJkt: {} }, { nonce: 42 }, { nonce: {} }]) {
    refused(() => verify(proof(), overrides), 'ERR_CONFIG_INVALID');
  }
  refused(() => verifyDpopProof(proof(), null as never), 'ERR_CONFIG_INVALID');
  const throwing = Object.defineProperty(baseCheck(), 'url', { get: () => { throw new Error('hostile'); } });
  refused(() => verifyDpopProof(proof(), throwing), 'ERR_CONFIG_INVALID');
  const badChecker = { check: () => { throw new Error('broken'); } };
  refused(() => verify(proof(), { nonce: badChecker }), 'ERR_CONFIG_INVALID');
});

S('a proof key is imported once per header, not per request', () => {
  const key = makeKey('P-256');
  const before = proofKeys.imports;
  for (let i = 0; i < 20; i++) verify(proof({ key }));
  assert.is(proofKeys.imports - before, 1);
  // A cached key is still held to the caller's allow-list and the claims' rules.
  refused(() => verify(proof({ key }), { algorithms: ['EdDSA'] }), 'ERR_DPOP_PROOF_INVALID', 'algorithm');
  refused(() => verify(proof({ key, claims: { htm: 'GET' } })), 'ERR_DPOP_PROOF_INVALID', 'htm');
  assert.is(proofKeys.imports - before, 1);
});

S('the key cache is bounded: a flood of keys evicts the least recently used', () => {
  const hot = makeKey('P-256');
  verify(proof({ key: hot }));
  const importsBefore = proofKeys.imports;
  for (let i = 0; i < 1100; i++) {
    const key = makeKey('Ed25519');
    verify(proof({ key }), { algorithms: ['EdDSA'] });
    if (i % 100 === 0) verify(proof({ key: hot })); // kept warm
  }
  assert.ok(proofKeys.size <= 1024, `size ${proofKeys.size}`);
  assert.is(proofKeys.imports - importsBefore, 1100, 'the hot key, kept in use, was imported again');
});

S('no error carries request text', () => {
  const hostile = 'x\r\nlevel=error msg="forged"';
  for (const run of [
    () => verify(proof({ claims: { htm: hostile } })),
    () => verify(proof({ claims: { jti: hostile, htu: hostile } })),
    () => verify(proof({ header: { typ: hostile } })),
    () => verify(hostile),
  ]) {
    const error = refused(run, 'ERR_DPOP_PROOF_INVALID') as Error;
    assert.not.ok(`${error.message}${error.stack}`.includes('forged'));
  }
});

S.run();

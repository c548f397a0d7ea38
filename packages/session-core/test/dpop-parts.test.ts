import { createHash } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accessTokenHash, checkPublicOrigin, jwkThumbprint, normalizeHtu, publicRequestUrl, singleDpopHeader } from '../src/index.js';
import { makeKey, proof, refused } from './dpop-helpers.js';

/*
 * The parts verifyDpopProof is built from, each with its own contract: the
 * RFC 7638 thumbprint, the htu normalisation (RFC 3986 §6.2.2, §6.2.3) and
 * the public URL behind a proxy, the one-DPoP-header rule (RFC 9449 §4.3
 * step 1).
 */
const T = suite('jwkThumbprint: RFC 7638');

T('equals jose’s calculateJwkThumbprint for EC P-256, P-384, P-521, OKP Ed25519 and RSA keys', async () => {
  for (const kind of ['P-256', 'P-384', 'P-521', 'Ed25519', 'RSA'] as const) {
    const { jwk, privateJwk } = makeKey(kind);
    const expected = await calculateJwkThumbprint(jwk as never, 'sha256');
    assert.is(jwkThumbprint(jwk), expected, kind);
    // Required members only: a private JWK, or one with kid/alg/use/key_ops/ext, hashes the same.
    assert.is(jwkThumbprint(privateJwk), expected, `${kind} (private JWK)`);
    assert.is(jwkThumbprint({ ...jwk, kid: 'k1', alg: 'ES256', use: 'sig', key_ops: ['verify'], ext: true }), expected, `${kind} (extra members)`);
  }
});

T('hashes the required members in lexicographic order, without whitespace (RFC 7638 §3.2, §3.3)', () => {
  const { jwk } = makeKey('P-256');
  // Members given in another order: the hash is of the sorted JSON.
  const shuffled = { y: jwk.y, x: jwk.x, kty: 'EC', crv: 'P-256' };
  const sorted = JSON.stringify({ crv: 'P-256', kty: 'EC', x: jwk.x, y: jwk.y });
  assert.is(jwkThumbprint(shuffled), createHash('sha256').update(sorted).digest('base64url'));
  const rsa = makeKey('RSA').jwk;
  assert.is(jwkThumbprint({ n: rsa.n, kty: 'RSA', e: rsa.e }), createHash('sha256').update(`{"e":"${rsa.e}","kty":"RSA","n":"${rsa.n}"}`).digest('base64url'));
});

T('a value that is not a supported key is a coded error, hostile objects included', () => {
  const hostile = new Proxy({}, { get: () => { throw new Error('hostile'); } });
  for (const value of [undefined, null, 'key', [], {}, { kty: 'oct', k: 'AAAA' }, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, hostile]) {
    refused(() => jwkThumbprint(value), 'ERR_DPOP_PROOF_INVALID', 'jwk');
  }
});

T.run();

const H = suite('normalizeHtu and publicRequestUrl: RFC 3986 §6.2.2, §6.2.3');

H('scheme and host in lower case, default port dropped, empty path as /, query and fragment dropped', () => {
  const cases: [string, string][] = [
    ['HTTPS://API.Example.COM/Path', 'https://api.example.com/Path'],
    ['https://api.example.com:443/a', 'https://api.example.com/a'],
    ['http://api.example.com:80/a', 'http://api.example.com/a'],
    ['https://api.example.com:8443/a', 'https://api.example.com:8443/a'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['https://api.example.com/a?b=c#d', 'https://api.example.com/a'],
    ['https://api.example.com/a/./b/../c', 'https://api.example.com/a/c'],
    ['https://[::1]:443/a', 'https://[::1]/a'],
  ];
  for (const [input, expected] of cases) assert.is(normalizeHtu(input), expected, input);
});

H('percent-encoding: hex digits in upper case, encoded unreserved characters decoded (§6.2.2.1, §6.2.2.2)', () => {
  assert.is(normalizeHtu('https://a.example/%7euser/%2fx/%41%2D%5F%2e'), 'https://a.example/~user/%2Fx/A-_.');
  assert.is(normalizeHtu('https://a.example/caf%c3%a9'), 'https://a.example/caf%C3%A9');
  // The same resource written the two ways compares equal; a different one does not.
  assert.is(normalizeHtu('https://a.example/%61'), normalizeHtu('https://a.example/a'));
  assert.is.not(normalizeHtu('https://a.example/%2F'), normalizeHtu('https://a.example//'));
  // Idempotent: a normalised URL is its own normal form.
  for (const url of ['https://a.example/%7euser/%2fx', 'HTTP://X.EXAMPLE:80/caf%c3%a9?q']) assert.is(normalizeHtu(normalizeHtu(url)), normalizeHtu(url));
});

H('anything but an absolute http(s) URL without credentials matches nothing', () => {
  for (const value of [undefined, 42, '', '/a', 'a.example/a', 'ftp://a.example/a', 'wss://a.example/a', 'https://u:p@a.example/a', 'https://u@a.example/a', 'https://', `https://a.example/${'x'.repeat(8200)}`]) {
    assert.is(normalizeHtu(value), undefined, String(value).slice(0, 40));
  }
});

H('the same answer the second time (its cache): valid, refused, long, and past the cache’s bound', () => {
  const inputs = ['HTTPS://API.Example.com:443/a/%7euser/../b?q=1', 'ftp://example.com/x', 'not a url', `https://example.com/${'a'.repeat(600)}`];
  const first = inputs.map((url) => normalizeHtu(url));
  assert.equal(first, ['https://api.example.com/a/b', undefined, undefined, `https://example.com/${'a'.repeat(600)}`]);
  for (let i = 0; i < 600; i++) normalizeHtu(`https://example.com/${i}`);
  assert.equal(inputs.map((url) => normalizeHtu(url)), first);
  assert.equal(inputs.map((url) => normalizeHtu(url)), first);
});

H('accessTokenHash (ath) keeps the last hash: each token still gets its own SHA-256, the empty one too', () => {
  const sha = (text: string) => createHash('sha256').update(text, 'latin1').digest('base64url');
  for (const token of ['', 'a.b.c', 'a.b.c', 'x.y.z', '', 'a.b.c']) assert.is(accessTokenHash(token), sha(token), JSON.stringify(token));
});

H('publicRequestUrl: the configured origin and the request path, never a host from the request', () => {
  assert.is(publicRequestUrl('https://API.example.com', '/api/me?x=1'), 'https://api.example.com/api/me');
  assert.is(publicRequestUrl('https://api.example.com:443/', '/a'), 'https://api.example.com/a');
  // A path that looks like a network path stays a path on the configured host.
  assert.is(publicRequestUrl('https://api.example.com', '//evil.example/x'), 'https://api.example.com//evil.example/x');
  assert.is(publicRequestUrl('https://api.example.com', '/\\evil.example/x'), 'https://api.example.com//evil.example/x');
  // The absolute form (a proxy request) and anything else not a path: refused.
  for (const target of ['https://evil.example/x', '*', 'x', '', undefined, 42]) {
    refused(() => publicRequestUrl('https://api.example.com', target), 'ERR_DPOP_PROOF_INVALID', 'htu');
  }
});

H('checkPublicOrigin: an origin only, or a configuration error', () => {
  assert.is(checkPublicOrigin('HTTPS://Api.Example.com:443'), 'https://api.example.com');
  assert.is(checkPublicOrigin('http://localhost:3000/'), 'http://localhost:3000');
  for (const origin of ['https://api.example.com/base', 'https://api.example.com/a/', 'https://api.example.com?x', 'https://api.example.com#f', 'ftp://x.example', 'api.example.com', 42, undefined]) {
    refused(() => checkPublicOrigin(origin), 'ERR_CONFIG_INVALID');
    refused(() => publicRequestUrl(origin as string, '/a'), 'ERR_CONFIG_INVALID');
  }
});

H.run();

const D = suite('singleDpopHeader: RFC 9449 §4.3 step 1');

D('one value passes (trimmed); none is undefined', () => {
  const p = proof();
  assert.is(singleDpopHeader(p), p);
  assert.is(singleDpopHeader([p]), p);
  assert.is(singleDpopHeader(` ${p}\t`), p);
  assert.is(singleDpopHeader(undefined), undefined);
  assert.is(singleDpopHeader([]), undefined);
});

D('several fields, as an array or joined with commas, are refused', () => {
  const p = proof();
  refused(() => singleDpopHeader([p, p]), 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  refused(() => singleDpopHeader([p, proof()]), 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  refused(() => singleDpopHeader(`${p}, ${proof()}`), 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
  refused(() => singleDpopHeader(`${p},`), 'ERR_DPOP_PROOF_INVALID', 'multiple_headers');
});

D('an empty or non-string value is malformed', () => {
  for (const value of ['', '   ', [''], [42], 42, null, {}]) refused(() => singleDpopHeader(value), 'ERR_DPOP_PROOF_INVALID', 'malformed');
});

D.run();

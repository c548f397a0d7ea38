import { constants, createSecretKey, generateKeyPairSync, sign } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SIGNING_ALGORITHMS, resolveKeys, type SigningKey } from '../src/keys.js';
import { signAccessToken } from '../src/lib/access-token.js';
import { jwsPrimitive } from '../src/lib/jws/algorithms.js';
import { decodeJsonText, encodeHeader, parseHeader } from '../src/lib/jws/header.js';

/*
 * lib/jws on its own: each primitive against jose (interoperability both
 * ways), and the edges where node:crypto throws instead of answering false.
 * The whole verifier is held to jose by differential.test.ts.
 */
const S = suite('lib/jws: primitives and header');

const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys: SigningKey[] = [
  { kid: 'hs256', algorithm: 'HS256', secret: 'a'.repeat(32) },
  { kid: 'hs384', algorithm: 'HS384', secret: 'b'.repeat(48) },
  { kid: 'hs512', algorithm: 'HS512', secret: 'c'.repeat(64) },
  { kid: 'es256', algorithm: 'ES256', privateKey: ec256.privateKey },
  { kid: 'es384', algorithm: 'ES384', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
  { kid: 'ed', algorithm: 'EdDSA', privateKey: generateKeyPairSync('ed25519').privateKey },
  { kid: 'rs', algorithm: 'RS256', privateKey: rsa.privateKey },
  { kid: 'ps', algorithm: 'PS256', privateKey: rsa.privateKey },
];
const resolved = resolveKeys(keys);

S('every algorithm is covered by the table', () => {
  assert.equal(resolved.map((k) => k.algorithm).sort(), [...SIGNING_ALGORITHMS].sort());
});

S('tokens signed here verify with jose, and jose signatures verify here', async () => {
  for (const key of resolved) {
    const token = signAccessToken(JSON.stringify({ sub: 'alice' }), key);
    const { protectedHeader, payload } = await compactVerify(token, key.verifyKeyObject, { algorithms: [key.algorithm] });
    assert.equal(protectedHeader, { alg: key.algorithm, kid: key.kid, typ: 'at+jwt' }, key.kid);
    assert.equal(JSON.parse(Buffer.from(payload).toString()), { sub: 'alice' });

    const theirs = await new CompactSign(Buffer.from('{"x":1}')).setProtectedHeader({ alg: key.algorithm }).sign(key.signKeyObject!);
    const [h, p, s] = theirs.split('.') as [string, string, string];
    const primitive = jwsPrimitive(key.algorithm, key.signKeyObject, key.verifyKeyObject);
    assert.ok(primitive.verifyBase64url(`${h}.${p}`, s), `${key.kid}: jose's signature`);
    assert.not.ok(primitive.verifyBase64url(`${h}.${p}x`, s), `${key.kid}: other input`);
  }
});

S('a signature as text: one changed character, a cut or an extended one, and a look-alike past ASCII are refused', () => {
  for (const key of resolved) {
    const primitive = jwsPrimitive(key.algorithm, key.signKeyObject, key.verifyKeyObject);
    const good = primitive.signBase64url('a.b');
    assert.ok(primitive.verifyBase64url('a.b', good), key.kid);
    const flip = (at: number) => good.slice(0, at) + (good[at] === 'A' ? 'B' : 'A') + good.slice(at + 1);
    for (const bad of ['', good.slice(1), `${good}A`, flip(0), flip(good.length - 1), flip(good.length >> 1)]) {
      assert.is(primitive.verifyBase64url('a.b', bad), false, `${key.kid}: ${bad.length} characters`);
    }
    // U+0141 is 0x41 ('A') in its low byte: a latin1 write would turn it into 'A'.
    const at = good.indexOf('A');
    if (at >= 0) assert.is(primitive.verifyBase64url('a.b', `${good.slice(0, at)}\u0141${good.slice(at + 1)}`), false, `${key.kid}: U+0141 for 'A'`);
  }
});

S('malformed signatures are refused, never thrown: wrong length, empty, longer than the RSA modulus', () => {
  for (const key of resolved) {
    const primitive = jwsPrimitive(key.algorithm, key.signKeyObject, key.verifyKeyObject);
    const good = Buffer.from(primitive.signBase64url('a.b'), 'base64url');
    for (const bad of [Buffer.alloc(0), good.subarray(1), Buffer.concat([good, Buffer.from([0])]), Buffer.alloc(1024, 0xff)]) {
      assert.is(primitive.verifyBase64url('a.b', bad.toString('base64url')), false, `${key.kid}, ${bad.length} bytes`);
    }
  }
});

S('ECDSA: a DER-encoded signature is refused (RFC 7518 §3.4 wants R || S)', () => {
  const [es] = resolveKeys([{ kid: 'e', algorithm: 'ES256', privateKey: ec256.privateKey }]);
  const der = sign('sha256', Buffer.from('a.b'), ec256.privateKey);
  assert.is(jwsPrimitive('ES256', es!.signKeyObject, es!.verifyKeyObject).verifyBase64url('a.b', der.toString('base64url')), false);
});

S('PS256 uses a salt as long as the digest: another salt length is refused', () => {
  const primitive = jwsPrimitive('PS256', rsa.privateKey, rsa.publicKey);
  const salt20 = sign('sha256', Buffer.from('a.b'), { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
  assert.is(primitive.verifyBase64url('a.b', salt20.toString('base64url')), false);
  assert.ok(primitive.verifyBase64url('a.b', primitive.signBase64url('a.b')));
});

S('a verify-only key cannot sign', () => {
  const primitive = jwsPrimitive('ES256', undefined, ec256.publicKey);
  assert.throws(() => primitive.signBase64url('a.b'));
  const hmac = jwsPrimitive('HS256', undefined, createSecretKey(Buffer.alloc(32)));
  assert.is(Buffer.from(hmac.signBase64url('a.b'), 'base64url').length, 32);
});

S('parseHeader accepts exactly {alg, kid, typ} of strings', () => {
  const enc = (text: string | Buffer) => Buffer.from(text).toString('base64url');
  assert.equal(parseHeader(encodeHeader({ alg: 'HS256', kid: 'k', typ: 'at+jwt' })), { alg: 'HS256', kid: 'k', typ: 'at+jwt' });
  assert.equal(parseHeader(enc('\ufeff{"typ":"x","kid":"k","alg":"a"}')), { alg: 'a', kid: 'k', typ: 'x' });
  for (const text of ['{"alg":"a","kid":"k"}', '{"alg":"a","kid":"k","typ":"t","crit":["b64"]}', '{"alg":"a","kid":1,"typ":"t"}', '[]', 'null', '{', '']) {
    assert.is(parseHeader(enc(text)), undefined, text);
  }
  assert.is(parseHeader(enc(Buffer.from([0x7b, 0xff, 0x7d]))), undefined, 'not UTF-8');
  assert.is(decodeJsonText(enc(Buffer.from([0xed, 0xa0, 0x80]))), undefined, 'surrogate bytes');
  // As long as a token read() looks at allows, and one character-group longer.
  const longest = JSON.stringify('x'.repeat(6144 - 2));
  assert.is(decodeJsonText(enc(longest)), longest);
  assert.is(decodeJsonText(enc(JSON.stringify('x'.repeat(6144 + 1)))), undefined, 'longer than any token read() accepts');
});

S('payloads of any length and script sign as jose reads them, one after another (the payload text goes through a kept buffer)', async () => {
  const key = resolved.find((k) => k.algorithm === 'HS256')!;
  for (const claims of [{ sub: 'a'.repeat(20_000) }, { sub: 'é☃😀'.repeat(3000) }, { sub: 'b' }, { sub: '😀' }]) {
    const { payload } = await compactVerify(signAccessToken(JSON.stringify(claims), key), key.verifyKeyObject, { algorithms: ['HS256'] });
    assert.equal(JSON.parse(Buffer.from(payload).toString()), claims);
  }
});

S.run();

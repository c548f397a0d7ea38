import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith } from '../src/testing/index.js';
import { AUDIENCE, ISSUER, SECRET, harness } from './helpers.js';

const S = suite('keys: algorithms, rotation, JWKS');

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

S('every supported algorithm signs and verifies', async () => {
  const keys = [
    { kid: 'hs256', algorithm: 'HS256', secret: SECRET },
    { kid: 'hs384', algorithm: 'HS384', secret: 'z'.repeat(48) },
    { kid: 'hs512', algorithm: 'HS512', secret: new Uint8Array(64).fill(7) },
    { kid: 'es256', algorithm: 'ES256', privateKey: ec.privateKey },
    { kid: 'es384', algorithm: 'ES384', privateKey: ec384.privateKey.export({ format: 'jwk' }) },
    { kid: 'ed', algorithm: 'EdDSA', privateKey: ed.privateKey, publicKey: ed.publicKey.export({ format: 'jwk' }) },
    { kid: 'rs', algorithm: 'RS256', privateKey: rsa.privateKey },
    { kid: 'ps', algorithm: 'PS256', privateKey: rsa.privateKey },
  ] as const;
  for (const key of keys) {
    const h = harness({ keys: [key] });
    const tokens = await h.manager.create('alice');
    const header = JSON.parse(Buffer.from(tokens.accessToken.split('.')[0]!, 'base64url').toString());
    assert.equal(header, { alg: key.algorithm, kid: key.kid, typ: 'at+jwt' });
    assert.is((await h.manager.read(tokens.accessToken)).sub, 'alice');
    await h.close();
  }
});

S('WebCrypto CryptoKeys are accepted', async () => {
  const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const h = harness({ keys: { kid: 'wc', algorithm: 'ES256', privateKey: pair.privateKey, publicKey: pair.publicKey } });
  await h.manager.read((await h.manager.create('alice')).accessToken);
  await h.close();
});

S('rotation: tokens of a previous key verify while it is configured, and not after', async () => {
  const old = { kid: 'old', algorithm: 'HS256', secret: SECRET } as const;
  const next = { kid: 'new', algorithm: 'ES256', privateKey: ec.privateKey } as const;
  const before = harness({ keys: [old] });
  const token = (await before.manager.create('alice')).accessToken;
  const during = harness({ keys: [next, old] });
  await during.manager.read(token);
  const fresh = (await during.manager.create('alice')).accessToken;
  assert.is(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid, 'new');
  const after = harness({ keys: [next] });
  await rejectsWith(after.manager.read(token), 'ERR_AUTH_TOKEN_INVALID');
  await after.manager.read(fresh);
  await Promise.all([before.close(), during.close(), after.close()]);
});

S('a verify-only asymmetric key verifies but is never used to sign', async () => {
  const signer = harness({ keys: { kid: 'ec', algorithm: 'ES256', privateKey: ec.privateKey } });
  const token = (await signer.manager.create('alice')).accessToken;
  const verifier = harness({ keys: [{ kid: 'hs', algorithm: 'HS256', secret: SECRET }, { kid: 'ec', algorithm: 'ES256', publicKey: ec.publicKey }] });
  await verifier.manager.read(token);
  await Promise.all([signer.close(), verifier.close()]);
});

S('jwks() publishes the public halves only, and jose verifies tokens with it', async () => {
  const h = harness({
    keys: [
      { kid: 'ed', algorithm: 'EdDSA', privateKey: ed.privateKey },
      { kid: 'hs', algorithm: 'HS256', secret: SECRET },
      { kid: 'rs', algorithm: 'RS256', publicKey: rsa.publicKey },
    ],
  });
  const jwks = await h.manager.jwks();
  assert.equal(jwks.keys.map((k) => [k.kid, k.alg, k.use]), [['ed', 'EdDSA', 'sig'], ['rs', 'RS256', 'sig']]);
  const text = JSON.stringify(jwks);
  for (const secretMember of ['"d"', '"p"', '"q"', '"dp"', '"k"', SECRET]) assert.not.ok(text.includes(secretMember), secretMember);
  const token = (await h.manager.create('alice')).accessToken;
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' });
  assert.is(payload.sub, 'alice');
  await h.close();
});

S('refresh tokens survive a signing-key rotation when refreshTokenSecret is set', async () => {
  const shared = { refreshTokenSecret: 'r'.repeat(32) };
  const h1 = harness({ ...shared, keys: { kid: 'a', algorithm: 'HS256', secret: SECRET } });
  const tokens = await h1.manager.create('alice');
  const h2 = harness({ ...shared, keys: { kid: 'b', algorithm: 'HS256', secret: 'q'.repeat(32) }, refreshTokenStore: h1.store });
  const rotated = await h2.manager.update(tokens.refreshToken);
  await h2.manager.read(rotated.accessToken);
  await rejectsWith(h2.manager.update(tokens.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  await Promise.all([h1.close(), h2.close()]);
});

S.run();

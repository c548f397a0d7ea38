import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { suite } from 'uvu';
import { rejectsWith } from '../src/testing/index.js';
import { HEADER, b64, claimsAt, forge, harness, type Harness } from './helpers.js';

/*
 * Every way an access token can be wrong, each with the exact code read()
 * must answer. Tokens are signed with the real key unless the case is about
 * the signature, so each row tests the one thing it names.
 */
const S = suite<{ h: Harness; valid: string }>('read(): hostile tokens');

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

S.before.each(async (ctx) => {
  ctx.h = harness({
    clockTolerance: 0,
    keys: [
      { kid: 'k1', algorithm: 'HS256', secret: 'session-core-tests-hmac-secret-0123456789' },
      { kid: 'ec1', algorithm: 'ES256', privateKey: ec.privateKey },
    ],
  });
  ctx.valid = (await ctx.h.manager.create('alice')).accessToken;
});
S.after.each(async (ctx) => ctx.h.close());

const INVALID = 'ERR_AUTH_TOKEN_INVALID';

S('the valid token itself is accepted (the control)', async ({ h, valid }) => {
  await h.manager.read(valid);
  await h.manager.read(forge(HEADER, claimsAt(h.clock.now)));
});

S('alg "none" and "None" are rejected, with or without a signature', async ({ h }) => {
  for (const alg of ['none', 'None', 'NONE']) {
    const unsigned = `${b64({ ...HEADER, alg })}.${b64(claimsAt(h.clock.now))}`;
    await rejectsWith(h.manager.read(`${unsigned}.`), INVALID, alg);
    await rejectsWith(h.manager.read(`${unsigned}.c2ln`), INVALID, alg);
  }
});

S('an HS256 token signed with the public key bytes of an asymmetric key is rejected', async ({ h }) => {
  const pem = ec.publicKey.export({ format: 'pem', type: 'spki' });
  const jwk = JSON.stringify(ec.publicKey.export({ format: 'jwk' }));
  for (const secret of [pem, jwk]) {
    await rejectsWith(h.manager.read(forge({ ...HEADER, kid: 'ec1' }, claimsAt(h.clock.now), secret)), INVALID);
  }
});

S('an algorithm other than the key’s is rejected', async ({ h }) => {
  await rejectsWith(h.manager.read(forge({ ...HEADER, alg: 'HS512' }, claimsAt(h.clock.now), 'session-core-tests-hmac-secret-0123456789', 'sha512')), INVALID);
  const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsToken = await new SignJWT(claimsAt(h.clock.now)).setProtectedHeader({ alg: 'RS256', kid: 'ec1', typ: 'at+jwt' }).sign(rs.privateKey);
  await rejectsWith(h.manager.read(rsToken), INVALID);
});

S('a flipped bit in any segment is rejected', async ({ h, valid }) => {
  const parts = valid.split('.');
  for (let segment = 0; segment < 3; segment++) {
    const bytes = Buffer.from(parts[segment]!, 'base64url');
    for (const index of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[index]! ^= 0x01;
      const copy = [...parts];
      copy[segment] = flipped.toString('base64url');
      await rejectsWith(h.manager.read(copy.join('.')), INVALID, `segment ${segment} byte ${index}`);
    }
  }
});

S('wrong iss, aud or typ is rejected', async ({ h }) => {
  const now = h.clock.now;
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(now, { iss: 'https://evil.test' }))), INVALID);
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(now, { aud: 'other-api' }))), INVALID);
  await rejectsWith(h.manager.read(forge({ ...HEADER, typ: 'JWT' }, claimsAt(now))), INVALID);
  await rejectsWith(h.manager.read(forge({ alg: 'HS256', kid: 'k1' }, claimsAt(now))), INVALID);
});

S('a missing exp, sub, jti, sid, iat, iss or aud is rejected', async ({ h }) => {
  for (const claim of ['exp', 'sub', 'jti', 'sid', 'iat', 'iss', 'aud']) {
    await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { [claim]: undefined }))), INVALID, claim);
  }
});

S('exp equal to now is expired; one second later it is accepted', async ({ h }) => {
  const now = Math.floor(h.clock.now / 1000) * 1000;
  h.clock.now = now;
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(now, { iat: now / 1000 - 10, exp: now / 1000 }))), 'ERR_AUTH_TOKEN_EXPIRED');
  await h.manager.read(forge(HEADER, claimsAt(now, { iat: now / 1000 - 10, exp: now / 1000 + 1 })));
});

S('nbf in the future is rejected', async ({ h }) => {
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { nbf: Math.floor(h.clock.now / 1000) + 60 }))), INVALID);
});

S('iat in the future is rejected', async ({ h }) => {
  const iat = Math.floor(h.clock.now / 1000) + 60;
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { iat, exp: iat + 600 }))), INVALID);
});

S('array-valued iss and sub are rejected', async ({ h }) => {
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { iss: ['https://issuer.test'] }))), INVALID);
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { sub: ['alice'] }))), INVALID);
  await rejectsWith(h.manager.read(forge(HEADER, claimsAt(h.clock.now, { sid: 42 }))), INVALID);
});

S('an unknown crit header is rejected', async ({ h }) => {
  await rejectsWith(h.manager.read(forge({ ...HEADER, crit: ['x-unknown'], 'x-unknown': 1 }, claimsAt(h.clock.now))), INVALID);
});

S('an unknown or missing kid is rejected', async ({ h }) => {
  await rejectsWith(h.manager.read(forge({ ...HEADER, kid: 'k9' }, claimsAt(h.clock.now))), INVALID);
  await rejectsWith(h.manager.read(forge({ alg: 'HS256', typ: 'at+jwt' }, claimsAt(h.clock.now))), INVALID);
});

S('keys embedded in the header (jwk, jku, x5u) are never used', async ({ h }) => {
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = attacker.publicKey.export({ format: 'jwk' });
  const token = await new SignJWT(claimsAt(h.clock.now))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk, jku: 'https://evil.test/jwks', x5u: 'https://evil.test/x5u' } as never)
    .sign(attacker.privateKey);
  await rejectsWith(h.manager.read(token), INVALID);
  const withKid = await new SignJWT(claimsAt(h.clock.now)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'ec1', jwk } as never).sign(attacker.privateKey);
  await rejectsWith(h.manager.read(withKid), INVALID);
});

S('a JWE (5 segments) and 1, 2 or 4 segments are rejected', async ({ h, valid }) => {
  await rejectsWith(h.manager.read(`${b64({ alg: 'dir', enc: 'A256GCM' })}..aXY.Y2lwaGVy.dGFn`), INVALID);
  await rejectsWith(h.manager.read(`${valid}.${valid.split('.')[2]}.x`), INVALID);
  const parts = valid.split('.');
  for (const n of [1, 2, 4]) {
    const segments = Array.from({ length: n }, (_, i) => parts[i % 3]!);
    await rejectsWith(h.manager.read(segments.join('.')), INVALID, `${n} segments`);
  }
});

S('empty, huge, non-ASCII, control-character and whitespace inputs are rejected before parsing', async ({ h, valid }) => {
  const inputs = ['', ' ', '.', '..', '...', 'a'.repeat(64 * 1024), `${valid}\n`, ` ${valid}`, `${valid}=`, valid.replace('.', ' .'), `${valid.slice(0, 10)}é${valid.slice(11)}`, `${valid.slice(0, 10)}\u0000${valid.slice(11)}`, `${valid.slice(0, 5)}\u202e${valid.slice(5)}`, valid.replace(/-/g, '+').replace(/_/g, '/') + (valid.includes('-') || valid.includes('_') ? '' : '+')];
  for (const input of inputs) await rejectsWith(h.manager.read(input), INVALID, JSON.stringify(input.slice(0, 20)));
});

S('non-string inputs are rejected with a SessionError', async ({ h }) => {
  for (const input of [undefined, null, 42, {}, [], Buffer.from('x'), Symbol('t')]) {
    await rejectsWith(h.manager.read(input as never), INVALID);
  }
});

S('a payload that is not a JSON object is rejected', async ({ h }) => {
  for (const payload of ['[]', '"alice"', '42', 'null', 'true', 'not json', '{"sub":']) {
    await rejectsWith(h.manager.read(forge(HEADER, payload)), INVALID, payload);
  }
  await rejectsWith(h.manager.read(`${b64('not json')}.${b64(claimsAt(h.clock.now))}.c2ln`), INVALID);
});

S('another spelling of the same signature bytes is rejected', async ({ h, valid }) => {
  const [head, body, sig] = valid.split('.') as [string, string, string];
  // A 32-byte HMAC encodes to 43 characters: the last one carries 2 unused bits.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(sig.at(-1)!);
  const twin = `${head}.${body}.${sig.slice(0, -1)}${alphabet[last ^ 0x01]}`;
  asseq(Buffer.from(twin.split('.')[2]!, 'base64url'), Buffer.from(sig, 'base64url'));
  await rejectsWith(h.manager.read(twin), INVALID);
  await h.manager.read(valid);
});

function asseq(a: Buffer, b: Buffer) {
  if (!a.equals(b)) throw new Error('the twin spelling should decode to the same bytes');
}

S('no error message contains the token or a part of it', async ({ h, valid }) => {
  const [, body, sig] = valid.split('.') as [string, string, string];
  const bad = [valid.slice(0, -2) + 'AA', forge({ ...HEADER, kid: 'k9' }, claimsAt(h.clock.now)), forge(HEADER, claimsAt(h.clock.now, { iss: 'x' }))];
  for (const token of bad) {
    const error = await rejectsWith(h.manager.read(token), INVALID);
    for (const part of [token, body, sig, ...token.split('.')]) {
      if (error.message.includes(part) || String(error.stack).includes(part)) throw new Error('token leaked into an error');
    }
  }
});

S.run();

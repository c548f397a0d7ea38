import fc from 'fast-check';
import { fuzzer } from '@jwt-session/fuzz-kit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DpopNonces, jwkThumbprint, normalizeHtu, publicRequestUrl, singleDpopHeader, verifyDpopProof } from '../src/index.js';
import { hostileValues, probe } from '../src/testing/index.js';
import { DEFAULT_KEY, baseCheck, makeKey, proof } from './dpop-helpers.js';

/*
 * Hostile input to the DPoP functions: anything at all, proofs mutated a
 * character at a time, and signed proofs whose header and claims are
 * generated. Each call answers or throws a coded error, and holds the event
 * loop for less than 50 ms (probe): the bounds come before the cryptography.
 */
const S = suite('fuzz: DPoP proof verification');
const fuzz = fuzzer({ hostileValues, probe }, 150);
const SEED = 10_11;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

S('every DPoP function, fed anything', async () => {
  const nonces = new DpopNonces({ secret: 's'.repeat(32) });
  await fuzz('verifyDpopProof', (a, b) => verifyDpopProof(a, b as never));
  await fuzz('verifyDpopProof (valid options)', (a) => verifyDpopProof(a, baseCheck()));
  for (const option of ['method', 'url', 'accessToken', 'expectedJkt', 'nonce', 'now', 'maxAge', 'clockTolerance', 'algorithms']) {
    await fuzz(`verifyDpopProof (valid proof, options.${option})`, (a) => verifyDpopProof(proof(), { ...baseCheck(), [option]: a }), 40);
  }
  await fuzz('singleDpopHeader', (a) => singleDpopHeader(a));
  await fuzz('normalizeHtu', (a) => normalizeHtu(a));
  await fuzz('publicRequestUrl', (a, b) => publicRequestUrl(a as never, b));
  await fuzz('jwkThumbprint', (a) => jwkThumbprint(a));
  await fuzz('DpopNonces.check', (a) => nonces.check(a));
  await fuzz('new DpopNonces', (a) => new DpopNonces(a as never));
});

S('a valid proof changed at one place is refused with a coded error, quickly', async () => {
  const good = proof();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u00e9';
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.constantFrom(...alphabet), fc.boolean(), async (at, char, insert) => {
      const mutated = `${good.slice(0, at)}${char}${good.slice(insert ? at : at + 1)}`;
      if (mutated === good) return;
      const error = await probe(() => verifyDpopProof(mutated, baseCheck()));
      assert.ok(error !== undefined, `accepted a changed proof: ${at} ${char}`);
    }),
    { numRuns: 400, seed: SEED },
  );
});

S('signed proofs with generated headers and claims never crash, and pass only when valid', async () => {
  const rsa = makeKey('RSA');
  const jwk = fc.oneof(
    fc.constant(DEFAULT_KEY.jwk),
    fc.constant(rsa.jwk),
    fc.dictionary(fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'd', 'k', 'kid'), fc.oneof(fc.string(), fc.constantFrom('EC', 'RSA', 'OKP', 'P-256', 'P-521', 'Ed25519', 'AQAB'), fc.base64String({ maxLength: 1400 }), fc.anything())),
    fc.anything(),
  );
  const header = fc.record({ typ: fc.oneof(fc.constant('dpop+jwt'), fc.string()), alg: fc.constantFrom('ES256', 'RS256', 'none', 'HS256', 'EdDSA'), jwk, crit: fc.anything() }, { requiredKeys: ['typ', 'alg'] });
  const claims = fc.record(
    {
      jti: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()),
      htm: fc.constantFrom('POST', 'GET', 'post'),
      htu: fc.oneof(fc.constant('https://api.example.com/api/me'), fc.webUrl(), fc.string()),
      iat: fc.oneof(fc.integer({ min: 1_799_999_900, max: 1_800_000_100 }), fc.double(), fc.anything()),
      ath: fc.oneof(fc.string(), fc.anything()),
      nonce: fc.oneof(fc.constant('server-nonce'), fc.string()),
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(header, claims, async (h, c) => {
      const p = proof({ key: h.alg === 'RS256' ? rsa : DEFAULT_KEY, rawHeader: b64(h), rawPayload: b64(c) });
      await probe(() => verifyDpopProof(p, baseCheck({ algorithms: ['ES256', 'RS256'] })));
    }),
    { numRuns: 300, seed: SEED },
  );
});

S('the largest proofs accepted for parsing stay within the bound', async () => {
  // An 8192-bit modulus of random bytes, claims padded to the length limit, several times over.
  const n = Buffer.alloc(1024, 0xab).toString('base64url');
  const heavy = proof({ key: makeKey('RSA'), header: { jwk: { kty: 'RSA', n, e: 'AQAB' } }, claims: { pad: 'p'.repeat(5000) } });
  for (let i = 0; i < 5; i++) assert.ok((await probe(() => verifyDpopProof(heavy, baseCheck({ algorithms: ['RS256'] })))) !== undefined);
  // Deeply nested JSON inside the bounds.
  const nested = `${'['.repeat(2000)}${']'.repeat(2000)}`;
  const deep = proof({ rawPayload: Buffer.from(`{"jti":${nested}}`).toString('base64url') });
  assert.ok((await probe(() => verifyDpopProof(deep, baseCheck()))) !== undefined);
});

S.run();

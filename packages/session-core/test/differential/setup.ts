import { constants, createHmac, createSecretKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ReferenceInvalidAccessTokenCache as MemoryInvalidAccessTokenCache, ReferenceRefreshTokenStore as MemoryRefreshTokenStore } from '../reference-storage.js';
import { JwtUserSessionManager, type SigningKey } from '../../src/index.js';

/** One key as the corpus needs it: its configuration, and a raw signer for forging arbitrary bytes. */
export interface TestKey {
  kid: string;
  algorithm: SigningKey['algorithm'];
  config: SigningKey;
  signKey: KeyObject;
  verifyKey: KeyObject;
  /** Signs any signing input with node:crypto directly, independent of lib/jws: what a holder of the key could sign. */
  signRaw(input: string): Buffer;
}

/** One configuration both verifiers are given: keys of every algorithm, a frozen clock. */
export interface Setup {
  name: string;
  manager: JwtUserSessionManager;
  keys: TestKey[];
  issuer: string;
  audience: string | string[];
  clockTolerance: number;
  /** ms, deliberately not on a whole second */
  now: number;
  close(): Promise<void>;
}

function hmacKey(kid: string, algorithm: 'HS256' | 'HS384' | 'HS512', bytes: number): TestKey {
  const secret = Buffer.alloc(bytes, kid);
  const key = createSecretKey(secret);
  const hash = `sha${algorithm.slice(2)}`;
  return { kid, algorithm, config: { kid, algorithm, secret }, signKey: key, verifyKey: key, signRaw: (input) => createHmac(hash, secret).update(input).digest() };
}

function pairKey(kid: string, algorithm: SigningKey['algorithm'], pair: { privateKey: KeyObject; publicKey: KeyObject }): TestKey {
  const raw = (input: string): Buffer => {
    const data = Buffer.from(input);
    switch (algorithm) {
      case 'ES256':
        return sign('sha256', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
      case 'ES384':
        return sign('sha384', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
      case 'EdDSA':
        return sign(null, data, pair.privateKey);
      case 'PS256':
        return sign('sha256', data, { key: pair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      default:
        return sign('sha256', data, pair.privateKey);
    }
  };
  return { kid, algorithm, config: { kid, algorithm, privateKey: pair.privateKey }, signKey: pair.privateKey, verifyKey: pair.publicKey, signRaw: raw };
}

let cached: TestKey[] | undefined;

/** Keys of every supported algorithm (generated once per process: RSA takes a while). */
export function testKeys(): TestKey[] {
  cached ??= [
    hmacKey('hs256', 'HS256', 32),
    hmacKey('hs384', 'HS384', 48),
    hmacKey('hs512', 'HS512', 64),
    pairKey('es256', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
    pairKey('es384', 'ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' })),
    pairKey('ed', 'EdDSA', generateKeyPairSync('ed25519')),
    pairKey('rs', 'RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })),
    pairKey('ps', 'PS256', generateKeyPairSync('rsa', { modulusLength: 2048 })),
  ];
  return cached;
}

/**
 * Two configurations: a string audience with the default tolerance, and an
 * audience list with no tolerance, so both branches of the aud rule and both
 * sides of every time boundary are exercised.
 */
export function setups(): Setup[] {
  const keys = testKeys();
  const now = 1_790_000_000_437;
  return [
    { name: 'aud string, tolerance 5 s', audience: 'api', clockTolerance: 5 },
    { name: 'aud list, tolerance 0', audience: ['api', 'admin'], clockTolerance: 0 },
  ].map(({ name, audience, clockTolerance }) => {
    const store = new MemoryRefreshTokenStore();
    const cache = new MemoryInvalidAccessTokenCache();
    const issuer = 'https://issuer.test';
    const manager = new JwtUserSessionManager({
      keys: keys.map((k) => k.config),
      issuer,
      audience,
      clockTolerance,
      // Every read() verifies in full: a cache hit would not test the verifier.
      verifiedTokenCacheSize: 0,
      refreshTokenStore: store,
      invalidAccessTokenCache: cache,
      clock: () => now,
    });
    return {
      name,
      manager,
      keys,
      issuer,
      audience,
      clockTolerance,
      now,
      close: async () => {
        await manager.close();
        await store.close();
        cache.close();
      },
    };
  });
}

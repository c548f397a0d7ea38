import { KeyObject, createPrivateKey, createPublicKey, createSecretKey, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { SessionError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;

export const SIGNING_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * A key the manager signs or verifies with. The first key of `options.keys`
 * signs; every configured key verifies, so keys can be rotated by prepending a
 * new one and removing the old one once its tokens have expired.
 */
export interface SigningKey {
  /** Put in the token header; selects the key at verification. Unique. */
  kid: string;
  algorithm: SigningAlgorithm;
  /** HS*: the shared secret, at least as long as the hash output (32, 48 or 64 bytes, RFC 7518 §3.2). */
  secret?: Uint8Array | string;
  /** Asymmetric algorithms: absent on a verify-only key. */
  privateKey?: CryptoKey | KeyObject | JWK;
  /** Asymmetric algorithms: derived from `privateKey` when absent. */
  publicKey?: CryptoKey | KeyObject | JWK;
}

/**
 * A validated key as node KeyObjects, made once at construction: signing and
 * verification use them synchronously through node:crypto (lib/jws), and
 * jose accepts them for JWKS export.
 */
export interface ResolvedKey {
  kid: string;
  algorithm: SigningAlgorithm;
  symmetric: boolean;
  /** Absent on a verify-only key. */
  signKeyObject: KeyObject | undefined;
  verifyKeyObject: KeyObject;
}

const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1' };

function fail(path: string, message: string): never {
  throw new SessionError('ERR_CONFIG_INVALID', `options.${path} ${message}`, undefined, 'option');
}

/** Node 20 has CryptoKey as a global but not on node:crypto's webcrypto. */
function isCryptoKey(value: unknown): value is CryptoKey {
  const constructor = (globalThis as { CryptoKey?: abstract new () => CryptoKey }).CryptoKey;
  return constructor !== undefined && value instanceof constructor;
}

function toKeyObject(value: unknown, kind: 'private' | 'public', path: string): KeyObject {
  try {
    if (value instanceof KeyObject) return value;
    if (isCryptoKey(value)) return KeyObject.from(value);
    if (value !== null && typeof value === 'object') {
      const jwk = value as JWK;
      if (kind === 'private') return createPrivateKey({ key: jwk as never, format: 'jwk' });
      return createPublicKey({ key: jwk as never, format: 'jwk' });
    }
  } catch (cause) {
    throw new SessionError('ERR_CONFIG_INVALID', `options.${path} is not a usable key`, { cause }, 'option');
  }
  return fail(path, 'must be a CryptoKey, a KeyObject or a JWK');
}

function checkAsymmetricKey(key: KeyObject, algorithm: SigningAlgorithm, path: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'ES256':
    case 'ES384':
      if (type !== 'ec' || details.namedCurve !== EC_CURVES[algorithm]) fail(path, `must be an EC key on ${EC_CURVES[algorithm]} for ${algorithm}`);
      return;
    case 'EdDSA':
      if (type !== 'ed25519' && type !== 'ed448') fail(path, 'must be an Ed25519 or Ed448 key for EdDSA');
      return;
    default:
      if (type !== 'rsa' && !(algorithm === 'PS256' && type === 'rsa-pss')) fail(path, `must be an RSA key for ${algorithm}`);
      if ((details.modulusLength ?? 0) < 2048) fail(path, 'must be an RSA key of at least 2048 bits');
  }
}

/** `verify`: keys of a service that only verifies (no key needs a privateKey). */
export function resolveKeys(keys: unknown, purpose: 'sign' | 'verify' = 'sign'): ResolvedKey[] {
  const list = Array.isArray(keys) ? keys : keys === undefined ? [] : [keys];
  if (list.length === 0) fail('keys', 'must hold at least one key');
  const seen = new Map<string, number>();
  const resolved = list.map((raw: unknown, index): ResolvedKey => {
    const path = `keys[${index}]`;
    if (raw === null || typeof raw !== 'object') fail(path, 'must be an object');
    const key = raw as Partial<SigningKey>;
    if (typeof key.kid !== 'string' || key.kid.length === 0 || key.kid.length > 256) fail(`${path}.kid`, 'must be a non-empty string of at most 256 characters');
    // The kid itself stays out of the message: it is caller text (newlines included).
    if (seen.has(key.kid)) fail(`${path}.kid`, `duplicates the kid of keys[${seen.get(key.kid)}]`);
    seen.set(key.kid, index);
    const algorithm = key.algorithm;
    if (!SIGNING_ALGORITHMS.includes(algorithm as SigningAlgorithm)) fail(`${path}.algorithm`, `must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
    const alg = algorithm as SigningAlgorithm;

    if (alg.startsWith('HS')) {
      if (key.privateKey !== undefined || key.publicKey !== undefined) fail(path, `uses ${alg}, which takes a secret, not a private or public key`);
      const secret = typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : key.secret instanceof Uint8Array ? Buffer.from(key.secret) : undefined;
      if (secret === undefined) fail(`${path}.secret`, `is required for ${alg}`);
      if (secret.length < HMAC_MIN_BYTES[alg]!) fail(`${path}.secret`, `must be at least ${HMAC_MIN_BYTES[alg]} bytes for ${alg}`);
      const secretKey = createSecretKey(secret);
      return { kid: key.kid, algorithm: alg, symmetric: true, signKeyObject: secretKey, verifyKeyObject: secretKey };
    }

    if (key.secret !== undefined) fail(`${path}.secret`, `is for HS* algorithms, not ${alg}`);
    const signKey = key.privateKey === undefined ? undefined : toKeyObject(key.privateKey, 'private', `${path}.privateKey`);
    if (signKey !== undefined && signKey.type !== 'private') fail(`${path}.privateKey`, 'must be a private key');
    let verifyKey: KeyObject;
    if (key.publicKey !== undefined) verifyKey = toKeyObject(key.publicKey, 'public', `${path}.publicKey`);
    else if (signKey !== undefined) verifyKey = createPublicKey(signKey);
    else return fail(path, 'needs a privateKey or a publicKey');
    if (verifyKey.type !== 'public') fail(`${path}.publicKey`, 'must be a public key');
    if (signKey !== undefined) checkAsymmetricKey(signKey, alg, `${path}.privateKey`);
    checkAsymmetricKey(verifyKey, alg, `${path}.publicKey`);
    return { kid: key.kid, algorithm: alg, symmetric: false, signKeyObject: signKey, verifyKeyObject: verifyKey };
  });
  if (purpose === 'sign' && resolved[0]!.signKeyObject === undefined) fail('keys[0]', 'signs new tokens and so needs a privateKey');
  return resolved;
}

/** Bytes of the signing key, as input for deriving the refresh-token key; undefined when the key cannot be exported. */
export function keyMaterial(key: ResolvedKey): Buffer | undefined {
  try {
    if (key.symmetric) return key.signKeyObject!.export();
    return key.signKeyObject!.export({ format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
}

/** The public half of every asymmetric key, as a JWK Set (RFC 7517 §5). */
export function publicJwks(keys: readonly ResolvedKey[]): { keys: JWK[] } {
  return {
    keys: keys
      .filter((key) => !key.symmetric)
      .map((key) => ({ ...(key.verifyKeyObject.export({ format: 'jwk' }) as JWK), kid: key.kid, alg: key.algorithm, use: 'sig' })),
  };
}

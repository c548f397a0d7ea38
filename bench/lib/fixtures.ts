import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, timingSafeEqual, verify, webcrypto, type KeyObject } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { JwtUserSessionManager, subjectHashTag, type JwtUserSessionManagerOptions, type SigningKey } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';

export const ISSUER = 'https://auth.bench.example';
export const AUDIENCE = 'https://api.bench.example';
/** A 48-character string secret (HS256 needs ≥ 32 bytes); also what jsonwebtoken gets. */
export const HS_SECRET = 'bench-secret-0123456789abcdef-0123456789abcdef!!';
export const ACCESS_TTL = 900;
export const CLOCK_TOLERANCE = 5;
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'];

export type Alg = 'HS256' | 'EdDSA' | 'ES256';

export interface KeySet {
  alg: Alg;
  kid: string;
  signing: SigningKey;
  /** What jose gets in the baseline: the same key material. */
  verifyKey: KeyObject;
  signKey: KeyObject;
}

export function keySet(alg: Alg): KeySet {
  const kid = `bench-${alg}`;
  if (alg === 'HS256') {
    const key = createSecretKey(Buffer.from(HS_SECRET, 'utf8'));
    return { alg, kid, signing: { kid, algorithm: 'HS256', secret: HS_SECRET }, verifyKey: key, signKey: key };
  }
  const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { alg, kid, signing: { kid, algorithm: alg, privateKey, publicKey }, verifyKey: publicKey, signKey: privateKey };
}

/** Manager options shared by every case; storage defaults to the memory store. */
export function managerOptions(keys: KeySet, extra: Partial<JwtUserSessionManagerOptions> = {}): JwtUserSessionManagerOptions {
  return {
    keys: keys.signing,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTokenTtl: ACCESS_TTL,
    clockTolerance: CLOCK_TOLERANCE,
    refreshTokenStore: new MemoryRefreshTokenStore(),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    ...extra,
  };
}

export function memoryManager(keys: KeySet, extra: Partial<JwtUserSessionManagerOptions> = {}): JwtUserSessionManager {
  return new JwtUserSessionManager(managerOptions(keys, extra));
}

const tags = new Map<string, string>();
let serial = 0;

/**
 * Claims as the manager writes them. sid and jti follow session-core's
 * formats (4-character subject tag + 128 bits; 48-bit ms time + 80 bits), made
 * unique with a counter instead of the CSPRNG so that minting a million is quick.
 */
function payloadFor(i: number, nowMs: number): JWTPayload {
  const sub = `user-${i % 1000}`;
  let tag = tags.get(sub);
  if (tag === undefined) tags.set(sub, (tag = subjectHashTag(sub)));
  const unique = randomPart.subarray(0, 16);
  unique.writeUInt32BE(++serial >>> 0, 12);
  const sid = tag + unique.toString('base64url');
  unique.writeUIntBE(Math.floor(nowMs), 0, 6);
  const iat = Math.floor(nowMs / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub, sid, jti: unique.toString('base64url'), iat, exp: iat + ACCESS_TTL };
}
const randomPart = randomBytes(16);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A flat (non-cons) copy of a string, as a token read off a socket would be. */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/**
 * Access tokens exactly as the manager issues them (same header, claims and
 * key), without going through create(): a fixture for the read() cases. HS256
 * is minted with node:crypto (fast, so a million tokens take seconds); the
 * asymmetric ones with jose. The first one is checked against manager.read().
 */
export async function mintTokens(keys: KeySet, count: number, offset = 0, extra?: Record<string, unknown>): Promise<string[]> {
  const now = Date.now();
  const tokens = new Array<string>(count);
  if (keys.alg === 'HS256') {
    const header = b64({ alg: 'HS256', kid: keys.kid, typ: 'at+jwt' });
    const secret = Buffer.from(HS_SECRET, 'utf8');
    for (let i = 0; i < count; i++) {
      // `extra`: claims to add (`cnf` of a DPoP-bound session, case P2).
      const input = `${header}.${b64(extra === undefined ? payloadFor(offset + i, now) : { ...payloadFor(offset + i, now), ...extra })}`;
      tokens[i] = flat(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const jwt = await new SignJWT(extra === undefined ? payloadFor(offset + i, now) : { ...payloadFor(offset + i, now), ...extra }).setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: 'at+jwt' }).sign(keys.signKey);
      tokens[i] = flat(jwt);
    }
  }
  return tokens;
}

/** The same verification key as a WebCrypto CryptoKey, imported once. */
export async function cryptoKeyOf(keys: KeySet): Promise<webcrypto.CryptoKey> {
  const subtle = webcrypto.subtle;
  if (keys.alg === 'HS256') return subtle.importKey('raw', keys.verifyKey.export(), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const spki = keys.verifyKey.export({ format: 'der', type: 'spki' });
  const algorithm = keys.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  return subtle.importKey('spki', spki, algorithm, false, ['verify']);
}

/**
 * The jose baseline: jwtVerify with the same key material and the same checks
 * the manager asks jose for. `cryptokey` (the baseline of every goal) hands
 * jose a CryptoKey imported once — the fastest way to call jose on Node 20,
 * about twice as fast as a KeyObject, which jose must import on every call;
 * `keyobject` hands it the KeyObject, as session-core does today.
 */
export async function joseVerifier(keys: KeySet, form: 'cryptokey' | 'keyobject' = 'cryptokey'): Promise<(token: string) => Promise<unknown>> {
  const options = { algorithms: [keys.alg], issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', clockTolerance: CLOCK_TOLERANCE, requiredClaims: REQUIRED_CLAIMS };
  const key = form === 'cryptokey' ? await cryptoKeyOf(keys) : keys.verifyKey;
  await jwtVerify((await mintTokens(keys, 1))[0]!, key, options); // throws if the fixture and the options disagree
  return (token) => jwtVerify(token, key, options);
}

/**
 * The HMAC limit for one token: what any HS256 verifier must do at the least —
 * HMAC-SHA256 of the signing input, a constant-time compare with the signature,
 * JSON.parse of the payload. The base64url decoding of signature and payload is
 * done once, outside the timing, which makes this baseline faster (and the goal
 * against it stricter) than a real verifier.
 */
export function hmacLimit(token: string): () => unknown {
  const dot = token.lastIndexOf('.');
  const input = token.slice(0, dot);
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const payloadJson = Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString('utf8');
  const secret = Buffer.from(HS_SECRET, 'utf8');
  return () => {
    const mac = createHmac('sha256', secret).update(input).digest();
    if (!timingSafeEqual(mac, signature)) throw new Error('bad signature');
    return JSON.parse(payloadJson);
  };
}

/**
 * fast-jwt's verifier with the same checks (algorithm, iss, aud, typ, required
 * claims, clock tolerance — fast-jwt takes it in ms) and key material.
 * `cache: true` is its own verified-token cache (1000 entries by default,
 * keyed by a SHA-256 of the token): the peer of read()'s cache on the hot
 * path; without it, the peer of a cold read().
 */
export function fastJwtVerifier(keys: KeySet, cache: boolean): (token: string) => unknown {
  const key = keys.alg === 'HS256' ? HS_SECRET : (keys.verifyKey.export({ format: 'pem', type: 'spki' }) as string);
  const verify = createVerifier({
    key,
    algorithms: [keys.alg as never],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    checkTyp: 'at+jwt',
    clockTolerance: CLOCK_TOLERANCE * 1000,
    requiredClaims: REQUIRED_CLAIMS,
    cache,
  });
  return (token) => verify(token);
}

/**
 * The signature limit for asymmetric keys: `crypto.verify` alone over the
 * signing input with the very KeyObject the manager holds, signature decoded
 * outside the timing (ieee-p1363 for ECDSA). No parsing and no claim checks,
 * so any verifier is slower than this. Returns a per-pool factory: the pool's
 * inputs are prepared before the round is timed.
 */
export function signatureLimit(keys: KeySet): (pool: readonly string[]) => (token: string, i: number) => unknown {
  const hash = keys.alg === 'EdDSA' ? null : 'sha256';
  const key = keys.alg === 'ES256' ? { key: keys.verifyKey, dsaEncoding: 'ieee-p1363' as const } : keys.verifyKey;
  return (pool) => {
    const inputs = pool.map((t) => Buffer.from(t.slice(0, t.lastIndexOf('.')), 'latin1'));
    const signatures = pool.map((t) => Buffer.from(t.slice(t.lastIndexOf('.') + 1), 'base64url'));
    return (_token, i) => {
      if (!verify(hash, inputs[i]!, key, signatures[i]!)) throw new Error('bad signature');
    };
  };
}

/** `hmacLimit` for a pool of new tokens: decoding done per pool before the round is timed. */
export function hmacLimitPool(pool: readonly string[]): (token: string, i: number) => unknown {
  const checks = pool.map(hmacLimit);
  return (_token, i) => checks[i]!();
}

/** node:crypto HS256 signing of a payload shaped like the manager's (fresh ids each call): the floor under create()/update(). */
export function nodeSign(keys: KeySet): () => string {
  const header = b64({ alg: keys.alg, kid: keys.kid, typ: 'at+jwt' });
  let n = 0;
  return () => {
    const iat = Math.floor(Date.now() / 1000);
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: `user-${n++ % 10_000}`, sid: randomBytes(19).toString('base64url').slice(0, 26), jti: randomBytes(16).toString('base64url'), iat, exp: iat + ACCESS_TTL };
    const input = `${header}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', keys.signKey).update(input).digest('base64url')}`;
  };
}

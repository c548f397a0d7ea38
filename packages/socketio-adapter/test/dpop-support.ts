import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint } from '@jwt-session/session-core';
import * as dpop from 'dpop';

/*
 * DPoP proofs for the guards' tests, two ways:
 * - by panva's `dpop` package (WebCrypto, code no one here wrote): the
 *   interop proofs a real client makes;
 * - by hand with node:crypto, so that a test breaks exactly one rule of
 *   RFC 9449 §4.3 in a proof that is otherwise valid and validly signed.
 */

export interface TestKey {
  privateKey: KeyObject;
  jwk: Record<string, string>;
  /** RFC 7638 thumbprint: the `cnf.jkt` of a token bound to this key. */
  jkt: string;
}

/*
 * Generated as DER and imported again: on Node 20, exporting a JWK of a key
 * generateKeyPairSync returned can deadlock during GC (see
 * packages/session-core/test/dpop-helpers.ts).
 */
export function makeKey(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const jwk = createPublicKey({ key: publicKey, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, string>;
  return { privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }), jwk, jkt: jwkThumbprint(jwk) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface ProofClaims {
  htm: string;
  htu: string;
  /** The access token the proof names (`ath`); omitted: no `ath`. */
  accessToken?: string;
  /** Seconds. @default now */
  iat?: number;
  jti?: string;
  nonce?: string;
  typ?: string;
}

/** A proof by `key` (ES256), every member as given. */
export function handProof(key: TestKey, claims: ProofClaims): string {
  const header = { typ: claims.typ ?? 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
  const payload: Record<string, unknown> = { jti: claims.jti ?? randomUUID(), htm: claims.htm, htu: claims.htu, iat: claims.iat ?? Math.floor(Date.now() / 1000) };
  if (claims.accessToken !== undefined) payload.ath = ath(claims.accessToken);
  if (claims.nonce !== undefined) payload.nonce = claims.nonce;
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

type KeyPair = Awaited<ReturnType<typeof dpop.generateKeyPair>>;

/** A client's key in panva's `dpop` package, and its thumbprint. */
export interface PanvaKey {
  keypair: KeyPair;
  jkt: string;
}

export async function panvaKey(): Promise<PanvaKey> {
  const keypair = await dpop.generateKeyPair('ES256');
  return { keypair, jkt: await dpop.calculateThumbprint(keypair.publicKey) };
}

/** A proof made by panva's `dpop` package. */
export function panvaProof(key: PanvaKey, htu: string, htm: string, accessToken?: string, nonce?: string): Promise<string> {
  return dpop.generateProof(key.keypair, htu, htm, nonce, accessToken);
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint } from '@jwt-session/session-core';

/*
 * DPoP (RFC 9449) fixtures for cases P1–P3: a client's ES256 key and fresh
 * proofs signed with node:crypto, as a client makes one per request.
 */

export interface ClientKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, string>;
  jkt: string;
}

/** Generated as DER and imported again: exporting a generateKeyPairSync key as a JWK can deadlock Node 20 during GC. */
export function clientKey(): ClientKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  const pub = createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
  const jwk = pub.export({ format: 'jwk' }) as Record<string, string>;
  return { privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }), publicKey: pub, jwk, jkt: jwkThumbprint(jwk) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A proof maker for one key: the header is encoded once, as a client does. */
export function proofMaker(key: ClientKey): (htm: string, htu: string, accessToken: string) => string {
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk });
  return (htm, htu, accessToken) => {
    const payload = b64({ jti: randomBytes(16).toString('base64url'), htm, htu, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(accessToken).digest('base64url') });
    const input = `${header}.${payload}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
}

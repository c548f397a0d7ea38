import { constants, createHmac, sign, verify, type KeyObject, type SignKeyObjectInput, type VerifyKeyObjectInput } from 'node:crypto';
import type { SigningAlgorithm } from '../../keys.js';
import { asciiEqual } from '../ascii-equal.js';
import { decodeBase64urlInto } from './base64url.js';

/**
 * The signature primitive of one JWS algorithm (RFC 7518 §3) bound to one
 * KeyObject, on synchronous node:crypto. Only the choice of primitive and
 * parameters is this library's; the cryptography is OpenSSL's.
 */
export interface JwsPrimitive {
  /** The signature over the ASCII signing input `header.payload`, base64url as a compact JWS writes it (for HMAC, OpenSSL encodes in the same call). */
  signBase64url(input: string): string;
  /**
   * Whether `signature`, as a compact JWS writes it, is valid for `input`;
   * never throws for a malformed signature. Canonical base64url (see
   * token-syntax.ts) has one spelling per signature, so an HMAC is compared
   * as text without decoding either side; any other spelling is refused.
   */
  verifyBase64url(input: string, signature: string): boolean;
}

const HMAC_HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

function notSigning(): never {
  throw new Error('this key is verify-only');
}

function hmac(algorithm: JwsAlgorithm, key: KeyObject): JwsPrimitive {
  const hash = HMAC_HASH[algorithm]!;
  const macText = (input: string) => createHmac(hash, key).update(input, 'latin1').digest('base64url');
  return {
    signBase64url: macText,
    // The length of a MAC is public (RFC 7518 §3.2): asciiEqual refuses another length at once.
    verifyBase64url: (input, signature) => asciiEqual(signature, macText(input)),
  };
}

/** The decoded signature of an asymmetric token: 1,024 bytes hold an RSA-8192 signature; verification is synchronous, so one serves all. */
const signatureScratch = Buffer.alloc(1024);
/** The signing input as bytes, written into a buffer kept for it rather than a new one per verification. */
const inputScratch = Buffer.alloc(8192);

function inputBytes(input: string): Buffer {
  if (input.length > inputScratch.length) return Buffer.from(input, 'latin1');
  return inputScratch.subarray(0, inputScratch.write(input, 0, 'latin1'));
}

function asymmetric(
  hash: string | null,
  signKey: KeyObject | undefined,
  verifyKey: KeyObject,
  extra: { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number },
): JwsPrimitive {
  const signInput: SignKeyObjectInput | undefined = signKey === undefined ? undefined : { key: signKey, ...extra };
  const verifyInput: VerifyKeyObjectInput = { key: verifyKey, ...extra };
  return {
    signBase64url:
      signInput === undefined ? notSigning : (input) => sign(hash, Buffer.from(input, 'latin1'), signInput).toString('base64url'),
    verifyBase64url: (input, signature) => {
      // Only the one canonical spelling counts, as for an HMAC compared as text.
      const length = decodeBase64urlInto(signature, signatureScratch);
      if (length < 0) return false;
      try {
        return verify(hash, inputBytes(input), verifyInput, signatureScratch.subarray(0, length));
      } catch {
        // OpenSSL refuses some malformed signatures by throwing (e.g. an RSA signature longer than the modulus).
        return false;
      }
    },
  };
}

/**
 * What `jwsPrimitive` builds: the algorithms the manager signs with, and
 * ES512, which only verifies (DPoP proofs made with P-521 keys).
 */
export type JwsAlgorithm = SigningAlgorithm | 'ES512';

/** The primitive for `algorithm` with these keys; the key types were checked by resolveKeys (or, for a DPoP proof's key, by dpop/jwk.ts). */
export function jwsPrimitive(algorithm: JwsAlgorithm, signKey: KeyObject | undefined, verifyKey: KeyObject): JwsPrimitive {
  switch (algorithm) {
    case 'HS256':
    case 'HS384':
    case 'HS512':
      return hmac(algorithm, verifyKey);
    // RFC 7518 §3.4: ECDSA signatures are R || S, fixed width, not DER.
    case 'ES256':
      return asymmetric('sha256', signKey, verifyKey, { dsaEncoding: 'ieee-p1363' });
    case 'ES384':
      return asymmetric('sha384', signKey, verifyKey, { dsaEncoding: 'ieee-p1363' });
    case 'ES512':
      return asymmetric('sha512', signKey, verifyKey, { dsaEncoding: 'ieee-p1363' });
    // RFC 8037 §3.1: EdDSA hashes internally; node takes a null digest.
    case 'EdDSA':
      return asymmetric(null, signKey, verifyKey, {});
    case 'RS256':
      return asymmetric('sha256', signKey, verifyKey, { padding: constants.RSA_PKCS1_PADDING });
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
    case 'PS256':
      return asymmetric('sha256', signKey, verifyKey, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

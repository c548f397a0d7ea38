import { decodeBase64urlInto } from '../lib/jws/base64url.js';
import { isJsonObject } from '../lib/jws/header.js';
import { dpopError } from './refusal.js';

/**
 * The public key of a DPoP proof, reduced to the members RFC 7638 §3.2 hashes
 * for its thumbprint (and node:crypto needs to import it): every value a
 * canonical base64url string of the size its key type calls for.
 */
export type DpopPublicJwk =
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string }
  | { kty: 'RSA'; n: string; e: string };

/** Bytes of a coordinate (EC: x and y; OKP: x) per curve: RFC 7518 §6.2.1.2 (full length, leading zeros kept), RFC 8037 §2. */
const CURVES: Readonly<Record<string, { kty: 'EC' | 'OKP'; bytes: number }>> = {
  'P-256': { kty: 'EC', bytes: 32 },
  'P-384': { kty: 'EC', bytes: 48 },
  'P-521': { kty: 'EC', bytes: 66 },
  Ed25519: { kty: 'OKP', bytes: 32 },
};

/** RSA moduli accepted, in bits: below 2048 is weak (RFC 7518 §3.3); above 8192 costs too much to verify. */
export const RSA_MODULUS_BITS = { min: 2048, max: 8192 } as const;
/** Bytes of an RSA public exponent, at most: 65537 takes 3; a huge exponent would make each verification slow. */
const RSA_EXPONENT_MAX_BYTES = 4;

/** Members that only a private (or symmetric) JWK has: RFC 7518 §6.2.2, §6.3.2, §6.4, RFC 8037 §2. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'r', 't', 'k'] as const;

/** Large enough for the longest member accepted (an 8192-bit modulus); one buffer, as calls are synchronous. */
const scratch = Buffer.alloc(RSA_MODULUS_BITS.max / 8 + 1);

/** Bytes of a canonical base64url string, -1 when it is not one or is longer than `max` bytes. */
function decodedLength(value: unknown, max: number): number {
  if (typeof value !== 'string' || value.length > Math.ceil((max * 4) / 3)) return -1;
  return decodeBase64urlInto(value, scratch);
}

/** True when the value has any member of a private or symmetric key (RFC 9449 §4.3 step 7 refuses them). */
export function hasPrivateMembers(jwk: Record<string, unknown>): boolean {
  for (const name of PRIVATE_JWK_MEMBERS) if (Object.hasOwn(jwk, name)) return true;
  return false;
}

/**
 * The members of a supported public key, checked: `kty` EC (P-256, P-384,
 * P-521), OKP (Ed25519) or RSA (2048 to 8192 bits, an exponent of at most 4
 * bytes), every value canonical base64url of the right size, without leading
 * zero octets where RFC 7518 §6.3.1 forbids them. Other members (`kid`,
 * `alg`, `use`, `key_ops`, `ext`…) are ignored, as RFC 7638 §3.2 does.
 * Throws ERR_DPOP_PROOF_INVALID (`jwk`) otherwise.
 */
export function readPublicJwk(value: unknown): DpopPublicJwk {
  if (!isJsonObject(value)) throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
  const { kty, crv, x, y, n, e } = value;
  if (kty === 'EC' || kty === 'OKP') {
    const curve = typeof crv === 'string' && Object.hasOwn(CURVES, crv) ? CURVES[crv]! : undefined;
    if (curve === undefined || curve.kty !== kty || decodedLength(x, curve.bytes) !== curve.bytes) throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
    if (kty === 'OKP') return { kty, crv: 'Ed25519', x: x as string };
    if (decodedLength(y, curve.bytes) !== curve.bytes) throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
    return { kty, crv: crv as 'P-256' | 'P-384' | 'P-521', x: x as string, y: y as string };
  }
  if (kty === 'RSA') {
    const modulusBytes = decodedLength(n, RSA_MODULUS_BITS.max / 8);
    // The modulus' bit length: its byte length, less the leading zero bits of its first byte (which must not be zero).
    const bits = modulusBytes <= 0 || scratch[0] === 0 ? 0 : modulusBytes * 8 - Math.clz32(scratch[0]!) + 24;
    if (bits < RSA_MODULUS_BITS.min || bits > RSA_MODULUS_BITS.max) throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
    const exponentBytes = decodedLength(e, RSA_EXPONENT_MAX_BYTES);
    if (exponentBytes <= 0 || scratch[0] === 0) throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
    return { kty, n: n as string, e: e as string };
  }
  throw dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
}

import { createHash } from 'node:crypto';
import { isSessionError } from '../errors.js';
import { readPublicJwk, type DpopPublicJwk } from './jwk.js';
import { dpopError } from './refusal.js';

/**
 * RFC 7638 §3: the SHA-256 of the key's required members only, as JSON with
 * the member names in lexicographic order and no whitespace, base64url. The
 * values are checked base64url (readPublicJwk), so no JSON escaping can
 * arise and the text is written directly.
 */
export function thumbprintOf(key: DpopPublicJwk): string {
  let json: string;
  switch (key.kty) {
    case 'EC':
      json = `{"crv":"${key.crv}","kty":"EC","x":"${key.x}","y":"${key.y}"}`;
      break;
    case 'OKP':
      json = `{"crv":"${key.crv}","kty":"OKP","x":"${key.x}"}`;
      break;
    case 'RSA':
      json = `{"e":"${key.e}","kty":"RSA","n":"${key.n}"}`;
      break;
  }
  return createHash('sha256').update(json, 'latin1').digest('base64url');
}

/**
 * The RFC 7638 JWK SHA-256 thumbprint of a public key (EC P-256, P-384,
 * P-521; OKP Ed25519; RSA of 2048 to 8192 bits): what a DPoP-bound token
 * carries as `cnf.jkt` (RFC 9449 §6.1). Members other than the required ones
 * are ignored, private ones included, so a key pair's private JWK gives the
 * same thumbprint as its public JWK.
 *
 * Throws SessionError ERR_DPOP_PROOF_INVALID when `jwk` is not such a key.
 *
 * @example
 * ```ts
 * const jkt = jwkThumbprint({ kty: 'EC', crv: 'P-256', x: '…', y: '…' });
 * ```
 */
export function jwkThumbprint(jwk: unknown): string {
  let key: DpopPublicJwk;
  try {
    key = readPublicJwk(jwk);
  } catch (error) {
    // A proxy or a getter that throws is not a key either.
    throw isSessionError(error) ? error : dpopError('ERR_DPOP_PROOF_INVALID', 'jwk');
  }
  return thumbprintOf(key);
}

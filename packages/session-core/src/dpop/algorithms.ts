import { SessionError } from '../errors.js';
import type { JwsAlgorithm } from '../lib/jws/algorithms.js';
import type { DpopPublicJwk } from './jwk.js';

/**
 * The asymmetric JWS algorithms a DPoP proof may use (RFC 9449 §4.3 step 5:
 * never `none`, never a MAC). `Ed25519` is RFC 9864's name for EdDSA over
 * Ed25519, as panva's `dpop` writes it; `EdDSA` here means Ed25519 too.
 */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** What proofs are accepted with when the caller names no list: ES256, what every DPoP client supports (and the one the browser client uses). */
export const DEFAULT_DPOP_ALGORITHMS: readonly DpopAlgorithm[] = Object.freeze(['ES256']);

/** The JWS primitive of each algorithm (lib/jws). */
export const PRIMITIVE_OF: Readonly<Record<DpopAlgorithm, JwsAlgorithm>> = {
  ES256: 'ES256',
  ES384: 'ES384',
  ES512: 'ES512',
  EdDSA: 'EdDSA',
  Ed25519: 'EdDSA',
  PS256: 'PS256',
  RS256: 'RS256',
};

/** Whether `jwk` is a key for `algorithm`: the curve of an EC key fixes its algorithm (RFC 7518 §3.4). */
export function keyFits(algorithm: DpopAlgorithm, jwk: DpopPublicJwk): boolean {
  switch (algorithm) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'ES512':
      return jwk.kty === 'EC' && jwk.crv === 'P-521';
    case 'EdDSA':
    case 'Ed25519':
      return jwk.kty === 'OKP';
    case 'PS256':
    case 'RS256':
      return jwk.kty === 'RSA';
  }
}

const DEFAULT_SET: ReadonlySet<string> = new Set(DEFAULT_DPOP_ALGORITHMS);
const KNOWN: ReadonlySet<string> = new Set(DPOP_ALGORITHMS);
/** Lists already checked: an application passes the same array on every request, and it is checked once. */
const checked = new WeakMap<object, ReadonlySet<string>>();

/** The allow-list as a set, checked: a non-empty array of {@link DPOP_ALGORITHMS}. Throws ERR_CONFIG_INVALID naming `options.algorithms`. */
export function algorithmSet(algorithms: unknown): ReadonlySet<string> {
  if (algorithms === undefined) return DEFAULT_SET;
  let set = typeof algorithms === 'object' && algorithms !== null ? checked.get(algorithms) : undefined;
  if (set !== undefined) return set;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.length > DPOP_ALGORITHMS.length || !algorithms.every((a) => KNOWN.has(a as string))) {
    throw new SessionError('ERR_CONFIG_INVALID', `options.algorithms must be a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  set = new Set(algorithms as string[]);
  // A frozen list cannot change under the cache; another one is checked on every call.
  if (Object.isFrozen(algorithms)) checked.set(algorithms, set);
  return set;
}

import { DPOP_ONLY_REASONS, SessionError, isSessionError } from '../errors.js';

/**
 * Why a DPoP proof was refused: one word per rule of RFC 9449 §4.3 (and the
 * bounds this library adds). Stable: meant for metrics and alerting, never
 * shown to the client beyond the error code.
 *
 * - `too_large`: the proof, its header or its key is larger than the bounds
 *   (checked before any parsing or cryptography)
 * - `multiple_headers`: more than one `DPoP` header field (§4.3 step 1)
 * - `malformed`: not one compact JWS with JSON object header and payload (§4.3 step 2)
 * - `header`: a header member that changes how the JWS is read (`crit`, `b64`…)
 * - `type`: `typ` is not `dpop+jwt` (§4.3 step 4)
 * - `algorithm`: `alg` is not an asymmetric algorithm of the allow-list (§4.3 step 5)
 * - `jwk`: `jwk` missing, not a supported public key, or not a key for `alg`
 * - `private_key`: `jwk` holds private key members (§4.3 step 7)
 * - `signature`: the signature does not verify with `jwk` (§4.3 step 6)
 * - `jti`: `jti` missing or not a string of 1 to 256 characters (§4.2, §11.1)
 * - `htm`: `htm` is not the request's method (§4.3 step 8)
 * - `htu`: `htu` is not the request's URL, normalised (§4.3 step 9)
 * - `iat`: `iat` missing or outside the accepted window (§4.3 step 11)
 * - `nonce`: the server's nonce is missing or stale (§4.3 step 10, §8, §9)
 * - `ath`: `ath` missing or not the hash of the access token presented (§4.3 step 12)
 * - `binding`: the proof's key is not the one the token is bound to (§4.3 step 12, §6.1)
 * - `replayed`: this proof (its `jti`, by this key) was already used (§11.1)
 */
export const DPOP_REFUSAL_REASONS = ['malformed', 'header', 'type', 'algorithm', 'signature', ...DPOP_ONLY_REASONS] as const;

export type DpopRefusalReason = (typeof DPOP_REFUSAL_REASONS)[number];

export type DpopErrorCode = 'ERR_DPOP_PROOF_INVALID' | 'ERR_DPOP_NONCE_REQUIRED' | 'ERR_DPOP_BINDING_MISMATCH';

/** Every DPoP refusal is made here: a SessionError of a fixed message (never request text) and its reason. */
export function dpopError(code: DpopErrorCode, reason: DpopRefusalReason): SessionError {
  return new SessionError(code, undefined, undefined, reason);
}

/** The reason of a DPoP refusal; undefined for any other error. */
export function dpopRefusalReason(error: unknown): DpopRefusalReason | undefined {
  if (!isSessionError(error, 'ERR_DPOP_PROOF_INVALID', 'ERR_DPOP_NONCE_REQUIRED', 'ERR_DPOP_BINDING_MISMATCH')) return undefined;
  return (DPOP_REFUSAL_REASONS as readonly string[]).includes(error.reason) ? (error.reason as DpopRefusalReason) : undefined;
}

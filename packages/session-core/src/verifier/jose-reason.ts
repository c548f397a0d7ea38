import type { SessionErrorReason } from '../errors.js';

/**
 * The reason (see SESSION_ERROR_REASONS) of a token jose's jwtVerify refused,
 * from its error's `code` and, for a failed claim check, the `claim` and
 * `reason` jose sets on it (jose 6, `util/errors`: JWTClaimValidationFailed).
 * Only jose's fixed identifiers are read, never its message, which may quote
 * the token. Errors that mean the key set could not be had are sorted out
 * before this is asked.
 */
export function joseReason(error: unknown): SessionErrorReason {
  let code: unknown;
  let claim: unknown;
  let reason: unknown;
  try {
    ({ code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown });
  } catch {
    return 'malformed';
  }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown_key';
    // A protected header jose cannot use: not a JSON object, no alg, b64 or crit it does not support.
    case 'ERR_JWS_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'header';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimReason(claim, reason);
    case undefined:
      // Not a JOSEError: jose throws plain TypeErrors about the key it was handed (an RSA modulus under
      // 2048 bits, a key of the wrong type for the alg); the token's own form is always a coded error.
      return 'unusable_key';
    default:
      // ERR_JWT_INVALID (the payload is not a JSON object) and anything else about the token's form.
      return 'malformed';
  }
}

/** jose's `reason` is `missing`, `invalid` (not a number) or `check_failed` (the value was refused). */
function claimReason(claim: unknown, reason: unknown): SessionErrorReason {
  if (reason === 'missing') return 'missing_claim';
  if (reason === 'invalid') return 'invalid_claim';
  switch (claim) {
    case 'iss':
      return 'issuer';
    case 'aud':
      return 'audience';
    case 'typ':
      return 'type';
    case 'nbf':
      return 'not_yet_valid';
    case 'iat':
      return 'issued_in_future';
    default:
      return 'invalid_claim';
  }
}

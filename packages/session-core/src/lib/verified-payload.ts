import type { JWTPayload } from 'jose';
import { invalidAccessToken } from './access-token.js';
import type { AccessTokenClaims } from '../types.js';
import type { VerifiedToken } from './verified-cache.js';

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * The checks after the signature and the registered claims, shared by the
 * manager and the verifier for this library's own tokens: sub, sid and jti
 * non-empty strings, iat not in the future. Returns the frozen claims (they
 * may be shared between callers through the verified-token cache) and until
 * when the token verifies.
 */
export function checkedPayload(token: string, payload: JWTPayload, now: number, clockTolerance: number): VerifiedToken {
  const { sub, sid, jti, iat, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || sub.length === 0 || typeof sid !== 'string' || sid.length === 0 || typeof jti !== 'string' || jti.length === 0) {
    throw invalidAccessToken(sub === undefined || sid === undefined || jti === undefined ? 'missing_claim' : 'invalid_claim');
  }
  if (typeof iat !== 'number') throw invalidAccessToken(iat === undefined ? 'missing_claim' : 'invalid_claim');
  if (iat > now / 1000 + clockTolerance) throw invalidAccessToken('issued_in_future');
  return { token, claims: deepFreeze(payload) as AccessTokenClaims, validUntil: ((exp as number) + clockTolerance) * 1000, checkedVersion: undefined };
}

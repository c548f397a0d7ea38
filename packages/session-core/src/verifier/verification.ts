import { createRemoteJWKSet, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { SessionError } from '../errors.js';
import { invalidAccessToken, keyResolver, verifyAccessToken } from '../lib/access-token.js';
import { checkedPayload, deepFreeze } from '../lib/verified-payload.js';
import type { VerifiedToken } from '../lib/verified-cache.js';
import type { AccessTokenClaims } from '../types.js';
import { joseReason } from './jose-reason.js';
import { normalizeType, type NormalizedVerifierOptions } from './options.js';

/** Verifies one token (signature and claims, not revocation) into a cacheable entry. */
export interface TokenVerification {
  verify(token: string, now: number): Promise<VerifiedToken>;
  /** Fetches the key set now (JWKS only), so the first request does not wait for it. */
  prefetch(): Promise<void>;
}

/**
 * This library's own tokens under configured keys: the manager's synchronous
 * node:crypto path (lib/access-token), then the same payload checks.
 */
function ownTokensWithKeys(o: NormalizedVerifierOptions): TokenVerification {
  const config = { resolveKey: keyResolver(o.keys!), issuer: o.issuer, audience: o.audience, clockTolerance: o.clockTolerance };
  return {
    verify: async (token, now) => checkedPayload(token, verifyAccessToken(token, config, now), now, o.clockTolerance),
    prefetch: async () => undefined,
  };
}

/** jose failures that mean the key set could not be had, not that the token is bad. */
const UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

function keySource(o: NormalizedVerifierOptions): { getKey: JWTVerifyGetKey; algorithms: string[]; remote: ReturnType<typeof createRemoteJWKSet> | undefined } {
  if (o.jwksUrl !== undefined) {
    // jose refetches on an unknown kid, at most once per cooldownDuration: rotation is picked up, a flood of made-up kids is not a fetch flood.
    const remote = createRemoteJWKSet(o.jwksUrl, o.jwks);
    return { getKey: remote, algorithms: o.algorithms, remote };
  }
  const byKid = new Map(o.keys!.map((key) => [key.kid, key]));
  const only = o.keys!.length === 1 ? o.keys![0] : undefined;
  const getKey = (header: JWTHeaderParameters): KeyObject => {
    // A provider's token may omit kid when it has one key; with several, kid decides.
    const key = header.kid === undefined ? only : byKid.get(header.kid);
    if (key === undefined) throw invalidAccessToken('unknown_key');
    if (key.algorithm !== header.alg) throw invalidAccessToken('algorithm');
    return key.verifyKeyObject;
  };
  return { getKey: getKey as JWTVerifyGetKey, algorithms: [...new Set(o.keys!.map((k) => k.algorithm))], remote: undefined };
}

/**
 * jose's jwtVerify: for keys from a JWK Set URL (this library's tokens or a
 * provider's), and for a provider's tokens under configured keys. Own tokens
 * keep the strict rules (typ exactly at+jwt, every claim, the manager's
 * payload checks); a provider's follow `acceptedTypes` and `requiredClaims`.
 */
function withJose(o: NormalizedVerifierOptions): TokenVerification {
  const { getKey, algorithms, remote } = keySource(o);
  const own = o.tokens === 'jwt-session';
  return {
    async verify(token, now) {
      let payload: JWTPayload;
      let typ: unknown;
      try {
        const result = await jwtVerify(token, getKey, {
          algorithms,
          issuer: o.issuer,
          audience: o.audience,
          clockTolerance: o.clockTolerance,
          requiredClaims: o.requiredClaims,
          currentDate: new Date(now),
        });
        payload = result.payload;
        typ = result.protectedHeader.typ;
      } catch (error) {
        if (error instanceof SessionError) throw error;
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'ERR_JWT_EXPIRED') throw new SessionError('ERR_AUTH_TOKEN_EXPIRED', 'access token has expired', undefined, 'expired');
        // A key set that cannot be fetched says nothing about the token: the caller may retry (503, not 401).
        if (remote !== undefined && (typeof code !== 'string' ? !(error instanceof SyntaxError) : UNAVAILABLE.has(code))) {
          throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'the key set could not be fetched', { cause: error }, 'jwks');
        }
        // jose's message may quote header values: not kept, only its code and claim name.
        throw invalidAccessToken(joseReason(error));
      }
      if (own) {
        if (typ !== 'at+jwt') throw invalidAccessToken('type');
        return checkedPayload(token, payload, now, o.clockTolerance);
      }
      if (!o.acceptedTypes.has(typeof typ === 'string' ? normalizeType(typ) : typ === undefined ? null : '\u0000')) throw invalidAccessToken('type');
      const { sub, iat, exp } = payload;
      if (typeof sub !== 'string' || sub.length === 0) throw invalidAccessToken(sub === undefined ? 'missing_claim' : 'invalid_claim');
      if (typeof iat !== 'number') throw invalidAccessToken(iat === undefined ? 'missing_claim' : 'invalid_claim');
      if (iat > now / 1000 + o.clockTolerance) throw invalidAccessToken('issued_in_future');
      return { token, claims: deepFreeze(payload) as unknown as AccessTokenClaims, validUntil: ((exp as number) + o.clockTolerance) * 1000, checkedVersion: undefined };
    },
    async prefetch() {
      if (remote === undefined) return;
      try {
        await remote.reload();
      } catch (cause) {
        throw new SessionError('ERR_STORAGE_UNAVAILABLE', 'the key set could not be fetched', { cause }, 'jwks');
      }
    },
  };
}

export function tokenVerification(o: NormalizedVerifierOptions): TokenVerification {
  return o.keys !== undefined && o.tokens === 'jwt-session' ? ownTokensWithKeys(o) : withJose(o);
}

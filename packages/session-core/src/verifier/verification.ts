import { jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { SessionError } from '../errors.js';
import { invalidAccessToken, keyResolver, verifyAccessToken } from '../lib/access-token.js';
import { checkedPayload, deepFreeze } from '../lib/verified-payload.js';
import type { VerifiedToken } from '../lib/verified-cache.js';
import type { AccessTokenClaims } from '../types.js';
import { joseReason } from './jose-reason.js';
import type { NormalizedVerifierOptions } from './options.js';
import { checkProviderToken } from './provider-token.js';
import { RemoteKeySet } from './remote-key-set.js';

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

function keySource(o: NormalizedVerifierOptions): { getKey: JWTVerifyGetKey; algorithms: string[]; remote: RemoteKeySet | undefined } {
  if (o.jwksUrl !== undefined) {
    const remote = new RemoteKeySet({ url: o.jwksUrl, clock: o.clock, ...o.jwks });
    return { getKey: remote.getKey as JWTVerifyGetKey, algorithms: o.algorithms, remote };
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
        // The key set could not be had (ERR_STORAGE_UNAVAILABLE, from RemoteKeySet alone), or a key resolver's verdict.
        if (error instanceof SessionError) throw error;
        if ((error as { code?: unknown } | null)?.code === 'ERR_JWT_EXPIRED') throw new SessionError('ERR_AUTH_TOKEN_EXPIRED', 'access token has expired', undefined, 'expired');
        // Everything else is about this token or the key its header names (a key jose cannot use included), not an outage.
        // jose's message may quote header values: not kept, only its code and claim name.
        throw invalidAccessToken(joseReason(error));
      }
      if (own) {
        if (typ !== 'at+jwt') throw invalidAccessToken('type');
        return checkedPayload(token, payload, now, o.clockTolerance);
      }
      checkProviderToken(payload, typ, now, o);
      return { token, claims: deepFreeze(payload) as unknown as AccessTokenClaims, validUntil: ((payload.exp as number) + o.clockTolerance) * 1000, checkedVersion: undefined };
    },
    prefetch: async () => remote?.prefetch(),
  };
}

/**
 * The verification for the options, with one rule over every token: a lifetime
 * (`exp` − `iat`) no longer than maxTokenLifetime, the time each revocation is
 * kept at least, so no revoked token can outlive its revocation.
 */
export function tokenVerification(o: NormalizedVerifierOptions): TokenVerification {
  const inner = o.keys !== undefined && o.tokens === 'jwt-session' ? ownTokensWithKeys(o) : withJose(o);
  return {
    async verify(token, now) {
      const entry = await inner.verify(token, now);
      const { iat, exp } = entry.claims as { iat: number; exp: number };
      if (exp - iat > o.maxTokenLifetime) throw invalidAccessToken('lifetime');
      return entry;
    },
    prefetch: () => inner.prefetch(),
  };
}

import { recordedJkt } from '../dpop/binding.js';
import { authenticationJson, withoutAuthenticationClaims } from '../freshness.js';
import type { ResolvedKey } from '../keys.js';
import type { SessionContext, SessionTokens } from '../types.js';
import { signAccessToken } from './access-token.js';
import { accessTokenPayloadJson } from './access-token-payload.js';
import { newTokenId } from './ids.js';
import { formatRefreshToken } from './refresh-token.js';
import { jitteredTtl } from '../jitter.js';
import { networkMark } from '../drift.js';

/** What a token pair is made with: the manager's options, fixed at construction. */
export interface IssueConfig {
  issuer: string;
  audience: string | string[];
  /** Seconds. */
  accessTokenTtl: number;
  /** Fraction of `accessTokenTtl` each token may lose at random (jitter.ts); 0: off. */
  accessTokenTtlJitter?: number;
  refreshTokenKey: Uint8Array;
  signingKey: ResolvedKey;
  /** The drift policy is 'refresh' (drift.ts): access tokens carry the network's mark as `dnh`. */
  networkClaim?: boolean;
}

/** The session as a pair is issued for: a stored one, or one being created. */
export interface IssuedSession {
  sessionId: string;
  subject: string;
  expiresAt: number;
  idleExpiresAt?: number | undefined;
  claims: Record<string, unknown>;
  /** ms; the `auth_time` of a session whose context records no authentication (freshness.ts). */
  createdAt: number;
  /** Where the session's authentication is kept (freshness.ts): its `auth_time`, `amr`, `acr` go into the access token. */
  context?: SessionContext | undefined;
}

/** When the session ends (ms): the earlier of its absolute and its idle deadline. */
export function sessionDeadline(session: { expiresAt: number; idleExpiresAt?: number | undefined }): number {
  return session.idleExpiresAt === undefined ? session.expiresAt : Math.min(session.expiresAt, session.idleExpiresAt);
}

/**
 * The access token and refresh token of a session at `now`, with the refresh
 * `secret` given. A session bound to a DPoP key (`cnf.jkt` in its claims)
 * gets that binding in both: the access token's `cnf` (RFC 9449 §6.1), the
 * refresh token's mac. Synchronous (node:crypto signs in the call): an async
 * one cost a promise and a microtask turn per create() and update().
 */
export function issueTokens(config: IssueConfig, session: IssuedSession, secret: string, now: number, drift?: string): SessionTokens {
  const deadline = sessionDeadline(session);
  const iat = Math.floor(now / 1000);
  // No access token outlives its session.
  const exp = Math.min(iat + jitteredTtl(config.accessTokenTtl, config.accessTokenTtlJitter ?? 0), Math.floor(deadline / 1000));
  const registered = accessTokenPayloadJson(withoutAuthenticationClaims(session.claims), {
    iss: config.issuer,
    aud: config.audience,
    sub: session.subject,
    sid: session.sessionId,
    jti: newTokenId(now),
    iat,
    exp,
  });
  // RFC 9068 §2.2.1: how and when the user authenticated, after the registered claims (text: see authenticationJson).
  let payload = `${registered.slice(0, -1)},${authenticationJson(session.context, session.createdAt)}}`;
  // The network the token was issued for (drift.ts): a keyed mark of 64 bits, base64url (no escaping needed).
  if (drift !== undefined && config.networkClaim === true) payload = `${payload.slice(0, -1)},"dnh":"${networkMark(drift)}"}`;
  return {
    accessToken: signAccessToken(payload, config.signingKey),
    refreshToken: formatRefreshToken(config.refreshTokenKey, session.sessionId, deadline, secret, recordedJkt(session.claims), drift),
    sessionId: session.sessionId,
    accessTokenExpiresAt: exp,
    refreshTokenExpiresAt: Math.ceil(deadline / 1000),
  };
}

import {
  checkBoundRequest,
  dpopRequestUrl,
  isSessionError,
  normalizeDpopOptions,
  SessionError,
  type AccessTokenClaims,
  type DpopOptions,
  type DpopRequestLike,
  type NormalizedDpopOptions,
} from '@jwt-session/session-core';
import { AuthError } from './errors.js';

/*
 * DPoP (RFC 9449) at the guards: a token whose claims carry `cnf.jkt` passes
 * only with a proof for this request by that key (session-core's
 * `checkBoundRequest`, every rule of §4.3 and §7.1). The option is
 * session-core's `DpopOptions`, the one @jwt-session/http's endpoints take,
 * so one deployment configures DPoP once for its endpoints and its guards.
 */

/** The guards' `dpop` option: the same as @jwt-session/http's (session-core's `DpopOptions`). */
export type GuardDpopOptions = DpopOptions;

/** The checked `dpop` option and the guard's `trustProxy`, kept by a guard. */
export interface GuardDpop extends NormalizedDpopOptions {
  trustProxy: boolean | number;
}

/** What a guard knows of the request a bound token came with: read only when the token is bound (or DPoP is required). */
export interface ProofRequest {
  /** The Authorization scheme the token came under (`DPoP`, `Bearer`), undefined when it came otherwise (`auth.token`, a cookie, `getToken`). */
  scheme: string | undefined;
  /** The proof (the `DPoP` header, or `auth.dpop` on a socket), as given. */
  proof: unknown;
  /** `htm` to expect. */
  method: string;
  /** The request target the node received (`/api/me?x=1`): its path, after the public origin, is `htu`. */
  target: unknown;
  /** For the request's own origin when no `publicOrigin` is set. */
  origin: DpopRequestLike;
}

/** How a guard reads a {@link ProofRequest} out of its own request object: one function per guard, built once. */
export type ProofReader<Source> = (source: Source) => ProofRequest;

/** `dpop` and `trustProxy` of a guard's options, checked once when the guard is built; undefined without `dpop`. */
export function checkDpopOptions(where: string, options: Record<string, unknown>): GuardDpop | undefined {
  let dpop: unknown;
  let trustProxy: unknown;
  try {
    ({ dpop, trustProxy } = options);
  } catch {
    throw AuthError.config(where, 'dpop', 'readable');
  }
  if (trustProxy !== undefined && typeof trustProxy !== 'boolean' && !(typeof trustProxy === 'number' && Number.isSafeInteger(trustProxy) && trustProxy >= 1)) {
    throw AuthError.config(where, 'trustProxy', 'a boolean or the number of proxies in front of the app (an integer >= 1)');
  }
  let normalized: NormalizedDpopOptions | undefined;
  try {
    normalized = normalizeDpopOptions(dpop, `${where}: `);
  } catch (error) {
    const config = new AuthError('ERR_CONFIG_INVALID', undefined, 'option');
    // session-core's message names the field and never quotes a value.
    config.message = isSessionError(error) ? error.message : `${where}: options.dpop is invalid`;
    throw config;
  }
  return normalized === undefined ? undefined : { ...normalized, trustProxy: (trustProxy as boolean | number | undefined) ?? false };
}

/** Whether a verified token needs the DPoP check: bound (`cnf`), or DPoP required. The whole cost for an unbound token. */
export function needsProof(claims: AccessTokenClaims, dpop: GuardDpop | undefined): boolean {
  return claims.cnf !== undefined || dpop?.required === true;
}

/**
 * The DPoP rule of one request (RFC 9449 §7.1) for a token {@link needsProof}
 * says needs it. A guard without a `dpop` option has no replay cache, so it
 * cannot tell a fresh proof from a replayed one: it refuses bound tokens
 * (ERR_DPOP_BINDING_MISMATCH), never takes them as bearer tokens.
 */
export async function checkProof(claims: AccessTokenClaims, accessToken: string, dpop: GuardDpop | undefined, request: ProofRequest | undefined): Promise<void> {
  if (dpop === undefined || request === undefined) {
    throw new SessionError('ERR_DPOP_BINDING_MISMATCH', undefined, undefined, 'binding');
  }
  // The URL matters only for a bound token: an unbound one under `required` is refused as such without it.
  const url = claims.cnf === undefined ? '' : dpopRequestUrl(dpop.publicOrigin, request.origin, request.target, dpop.trustProxy);
  await checkBoundRequest({
    claims,
    accessToken,
    scheme: request.scheme,
    proof: request.proof,
    method: request.method,
    url,
    replayCache: dpop.replayCache,
    nonce: dpop.nonces,
    algorithms: dpop.algorithms,
    required: dpop.required,
  });
}

/** The scheme of an Authorization header value: `DPoP`, `Bearer`, or undefined for anything else. */
export function schemeOf(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  if (/^DPoP /i.test(authorization)) return 'DPoP';
  if (/^Bearer /i.test(authorization)) return 'Bearer';
  return undefined;
}

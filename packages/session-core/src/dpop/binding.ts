import { SessionError, isSessionError } from '../errors.js';
import { checkDpopReplay, type DpopReplayCache } from './replay.js';
import { singleDpopHeader } from './header.js';
import { verifyDpopProof, type DpopProofCheck, type VerifiedDpopProof } from './proof.js';
import { dpopError } from './refusal.js';

/*
 * Sessions bound to a DPoP key (RFC 9449 §5, §6.1). The binding lives in two
 * places, written together at create() and never apart:
 *
 * - the session's claims, as `cnf: { jkt }`: every store already keeps
 *   claims, so memory, Redis and PostgreSQL record the thumbprint with the
 *   session without a schema change, and every access token of the session
 *   carries it as RFC 9449 §6.1 asks (`cnf` is a reserved claim: only this
 *   module sets it);
 * - the refresh token, under its mac (lib/refresh-token.ts): so that a refresh
 *   by the wrong key, or by none, is refused before the store is asked
 *   anything. The session is not rotated, not revoked: the refusal is not
 *   reuse (a stolen cookie being tried must not sign the victim out), and
 *   costs no store round trip however often it is tried.
 */

/** An RFC 7638 SHA-256 thumbprint, base64url: what `jwkThumbprint` and `verifyDpopProof` give. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

/** `create(subject, { dpop })`: the key the new session is bound to. */
export interface DpopBinding {
  /** The RFC 7638 thumbprint of the client's key (`verifyDpopProof(...).jkt`), checked by the caller's proof. */
  jkt: string;
}

/** `update(refreshToken, { dpop })`: the key the refresh came with. */
export interface DpopRefresh {
  /** The thumbprint of the key of the verified proof that came with the refresh; absent when none came. */
  jkt?: string | undefined;
  /**
   * Refuse a session that is not bound (DPoP required): ERR_REFRESH_TOKEN_INVALID
   * (`unbound`), the cookie is dead for good and its holder signs in again with a key.
   * @default false
   */
  required?: boolean | undefined;
}

/** Payload of the `dpopBindingRefused` event: never a token, a proof or a key. */
export interface DpopBindingRefusal {
  /** The session whose refresh token was presented; its subject is not looked up (no store call is made). */
  sessionId: string;
  /** `no_proof`: the refresh came without a proof; `other_key`: with a valid proof by another key. */
  reason: 'no_proof' | 'other_key';
  /** ms since the epoch, on the manager's clock. */
  at: number;
}

function input(message: string): SessionError {
  return new SessionError('ERR_CLAIMS_INVALID', message, undefined, 'input');
}

function readJkt(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !JKT.test(value)) throw input(`${name} must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)`);
  return value;
}

/** The thumbprint of `create`'s `dpop` option, checked; undefined for an unbound session. */
export function createBinding(dpop: unknown): string | undefined {
  if (dpop === undefined) return undefined;
  if (dpop === null || typeof dpop !== 'object') throw input('options.dpop must be an object');
  const jkt = readJkt((dpop as DpopBinding).jkt, 'options.dpop.jkt');
  if (jkt === undefined) throw input('options.dpop.jkt is required');
  return jkt;
}

/** `update`'s `dpop` option, checked. */
export function refreshProof(dpop: unknown): { jkt: string | undefined; required: boolean } | undefined {
  if (dpop === undefined) return undefined;
  if (dpop === null || typeof dpop !== 'object') throw input('options.dpop must be an object');
  const { jkt, required } = dpop as DpopRefresh;
  if (required !== undefined && typeof required !== 'boolean') throw input('options.dpop.required must be a boolean');
  return { jkt: readJkt(jkt, 'options.dpop.jkt'), required: required === true };
}

/** The thumbprint a session's claims record (`cnf.jkt`), or undefined; never throws. */
export function recordedJkt(claims: { readonly [claim: string]: unknown }): string | undefined {
  const jkt = (claims.cnf as { jkt?: unknown } | null | undefined)?.jkt;
  return typeof jkt === 'string' && JKT.test(jkt) ? jkt : undefined;
}

/**
 * The thumbprint a token's claims bind it to (`cnf.jkt`), undefined when they
 * carry no `cnf`. A `cnf` without a usable `jkt` (a token bound some other
 * way, RFC 8705's `x5t#S256`, or garbled) cannot be checked here and is
 * refused (ERR_DPOP_BINDING_MISMATCH): fail closed.
 */
export function boundJkt(claims: { readonly [claim: string]: unknown }): string | undefined {
  if (claims.cnf === undefined) return undefined;
  const jkt = recordedJkt(claims);
  if (jkt === undefined) throw dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');
  return jkt;
}

/**
 * The claims with the binding `jkt` (`cnf: { jkt }`, RFC 9449 §6.1), or
 * without any when `jkt` is undefined. The same object when it already says so.
 */
export function withBinding(claims: Record<string, unknown>, jkt: string | undefined): Record<string, unknown> {
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  if (jkt === undefined ? cnf === undefined : cnf?.jkt === jkt) return claims;
  const { cnf: _cnf, ...rest } = claims;
  return jkt === undefined ? rest : { ...rest, cnf: { jkt } };
}

/** The session with {@link withBinding}'s claims; the same object when they already say so (the common case: no copy per refresh). */
export function withSessionBinding<T extends { claims: Record<string, unknown> }>(session: T, jkt: string | undefined): T {
  const claims = withBinding(session.claims, jkt);
  return claims === session.claims ? session : { ...session, claims };
}

/**
 * The refresh rule of a bound session: the refresh must come with a proof by
 * the key its refresh token names (`tokenJkt`). Throws, before any store call:
 * ERR_DPOP_BINDING_MISMATCH (`binding`) for no proof or another key, after
 * `refused` was told (the app's alert); ERR_REFRESH_TOKEN_INVALID
 * (`unbound`) for an unbound session when binding is required.
 */
export function checkRefreshBinding(
  sessionId: string,
  tokenJkt: string | undefined,
  presented: { jkt: string | undefined; required: boolean } | undefined,
  now: number,
  refused: (payload: DpopBindingRefusal) => void,
): void {
  if (tokenJkt === undefined) {
    if (presented?.required === true) throw new SessionError('ERR_REFRESH_TOKEN_INVALID', undefined, undefined, 'unbound');
    return;
  }
  const jkt = presented?.jkt;
  if (jkt === tokenJkt) return;
  refused({ sessionId, reason: jkt === undefined ? 'no_proof' : 'other_key', at: now });
  throw dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');
}

/** What a guard checks for one request with an access token: see {@link checkBoundRequest}. */
export interface BoundRequestCheck extends Omit<DpopProofCheck, 'accessToken' | 'expectedJkt'> {
  /** The verified claims of the access token (`manager.read`, `verifier.read`). */
  claims: { readonly [claim: string]: unknown };
  /** The access token itself: the proof's `ath` must be its hash (§4.3 step 12). */
  accessToken: string;
  /** The request's `DPoP` header as the framework gives it (a string, a list, undefined); `singleDpopHeader` reads it. */
  proof: unknown;
  /** The scheme the token came with (`DPoP`, `Bearer`). A bound token under any scheme but `DPoP` is refused (§7.1). @default not checked */
  scheme?: string | undefined;
  /** Where proofs' `jti`s are remembered (§11.1); without one, the caller runs `checkDpopReplay` itself. */
  replayCache?: DpopReplayCache | undefined;
  /** Refuse a token that is not bound (ERR_AUTH_TOKEN_INVALID, `unbound`). @default false */
  required?: boolean | undefined;
}

/**
 * The DPoP rule of a resource request (RFC 9449 §7.1): a token whose claims
 * carry `cnf.jkt` is accepted only with a proof for this request, signed by
 * that key, naming this token (`ath`), and not seen before. No downgrade:
 * such a token presented as `Bearer`, or without a proof, is refused
 * (ERR_DPOP_BINDING_MISMATCH, `binding`). A token without `cnf` is left to
 * bearer rules (resolves undefined) unless `required`. A proof that breaks a
 * rule of §4.3 is ERR_DPOP_PROOF_INVALID or ERR_DPOP_NONCE_REQUIRED (see
 * `verifyDpopProof`); the replay cache down is ERR_STORAGE_UNAVAILABLE.
 * Works on the claims of `JwtUserSessionManager.read` and of
 * `JwtSessionVerifier.read`, another provider's DPoP-bound tokens included.
 *
 * @example
 * ```ts
 * const claims = await manager.read(accessToken);
 * await checkBoundRequest({
 *   claims, accessToken, scheme, proof: req.headers.dpop,
 *   method: req.method, url: publicRequestUrl('https://api.example.com', req.url),
 *   replayCache,
 * });
 * ```
 */
export async function checkBoundRequest(check: BoundRequestCheck): Promise<VerifiedDpopProof | undefined> {
  let claims: { readonly [claim: string]: unknown };
  let scheme: unknown;
  let replayCache: unknown;
  let required: unknown;
  let proof: unknown;
  try {
    ({ claims, scheme, replayCache, required, proof } = check);
    if (claims === null || typeof claims !== 'object') throw new SessionError('ERR_CONFIG_INVALID', 'checkBoundRequest: options.claims must be the verified claims');
    if (scheme !== undefined && typeof scheme !== 'string') throw new SessionError('ERR_CONFIG_INVALID', 'checkBoundRequest: options.scheme must be a string');
    if (replayCache !== undefined && typeof (replayCache as DpopReplayCache | null)?.remember !== 'function') {
      throw new SessionError('ERR_CONFIG_INVALID', 'checkBoundRequest: options.replayCache must be a DpopReplayCache');
    }
  } catch (error) {
    throw isSessionError(error) ? error : new SessionError('ERR_CONFIG_INVALID', 'checkBoundRequest options could not be read');
  }
  let jkt: string | undefined;
  try {
    jkt = boundJkt(claims);
  } catch (error) {
    throw isSessionError(error) ? error : dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');
  }
  if (jkt === undefined) {
    if (required === true) throw new SessionError('ERR_AUTH_TOKEN_INVALID', undefined, undefined, 'unbound');
    return undefined;
  }
  // §7.1: a bound token travels under the DPoP scheme only; under Bearer a resource unaware of DPoP would take it as a bearer token.
  if (scheme !== undefined && scheme.toLowerCase() !== 'dpop') throw dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');
  const header = singleDpopHeader(proof);
  if (header === undefined) throw dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');
  const verified = verifyDpopProof(header, { ...check, accessToken: check.accessToken, expectedJkt: jkt });
  if (replayCache !== undefined) await checkDpopReplay(replayCache as DpopReplayCache, verified);
  return verified;
}

import {
  DEFAULT_DPOP_ALGORITHMS,
  DPOP_ALGORITHMS,
  SessionError,
  checkDpopReplay,
  checkPublicOrigin,
  isSessionError,
  publicRequestUrl,
  singleDpopHeader,
  verifyDpopProof,
  type DpopAlgorithm,
  type DpopReplayCache,
} from '@jwt-session/session-core';
import { ownOrigin } from './client-address.js';
import { SessionHttpError, type HttpErrorCode } from './errors.js';
import type { EndpointRequest } from './request.js';

/** Server nonces (RFC 9449 §8): a `DpopNonces` of session-core, or anything with its two methods. */
export interface DpopNonceSource {
  /** The nonce to send now (`DPoP-Nonce`). */
  current(): string;
  /** Whether a proof's `nonce` is current. */
  check(nonce: string): boolean;
}

/** `dpop` option of the endpoints: sessions bound to the client's key (RFC 9449). */
export interface DpopEndpointOptions {
  /**
   * Where the `jti` of every proof accepted is remembered (§11.1), so a proof
   * works once: `MemoryDpopReplayCache` on one node, `RedisDpopReplayCache`
   * across a cluster. Required: without it a proof copied off the wire could
   * be played again for its whole lifetime.
   */
  replayCache: DpopReplayCache;
  /**
   * Sign-in needs a proof, and a refresh of a session that is not bound is
   * refused (401 `ERR_REFRESH_TOKEN_INVALID`, cookie cleared: sign in again).
   * Without it, a client that sends no proof gets an unbound session.
   * @default false
   */
  required?: boolean;
  /** Server nonces (`new DpopNonces({ secret })`): a proof without the current one is answered `use_dpop_nonce` (§8). @default none */
  nonces?: DpopNonceSource;
  /** The proof algorithms accepted (§4.3 step 5). @default ['ES256'] */
  algorithms?: readonly DpopAlgorithm[];
  /**
   * The origin clients address the endpoints at (`https://app.example.com`),
   * for the proofs' `htu` (§4.3 step 9) behind a proxy or load balancer.
   * @default the request's own: `Host`, or `X-Forwarded-Proto` / `-Host` when `trustProxy` believes them
   */
  publicOrigin?: string;
}

export interface NormalizedDpop {
  replayCache: DpopReplayCache;
  required: boolean;
  nonces: DpopNonceSource | undefined;
  /** Frozen: session-core checks a frozen list once. */
  algorithms: readonly DpopAlgorithm[];
  publicOrigin: string | undefined;
  /** `algs="…"` of every DPoP challenge (§7.1): the algorithms accepted, so a client never has to guess. */
  algs: string;
}

const NAMES = new Set(['replayCache', 'required', 'nonces', 'algorithms', 'publicOrigin']);

function fail(name: string, message: string): never {
  throw new SessionHttpError('ERR_CONFIG_INVALID', `options.dpop.${name} ${message}`);
}

/** The `dpop` option, checked at construction. */
export function normalizeDpop(value: unknown): NormalizedDpop | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options.dpop must be an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!NAMES.has(key)) throw new SessionHttpError('ERR_CONFIG_INVALID', /^[A-Za-z]{1,40}$/.test(key) ? `options.dpop.${key} is not an option` : 'options.dpop holds an unknown option');
  const replayCache = o.replayCache as DpopReplayCache | undefined;
  if (typeof replayCache?.remember !== 'function') fail('replayCache', 'is required (a DpopReplayCache: MemoryDpopReplayCache, RedisDpopReplayCache)');
  if (o.required !== undefined && typeof o.required !== 'boolean') fail('required', 'must be a boolean');
  const nonces = o.nonces as DpopNonceSource | undefined;
  if (nonces !== undefined && (typeof nonces?.current !== 'function' || typeof nonces.check !== 'function')) fail('nonces', 'must be a DpopNonces (current() and check(nonce))');
  const algorithms = o.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (DPOP_ALGORITHMS as readonly unknown[]).includes(a))) {
    fail('algorithms', `must be a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  let publicOrigin: string | undefined;
  if (o.publicOrigin !== undefined) {
    try {
      publicOrigin = checkPublicOrigin(o.publicOrigin, 'dpop.publicOrigin');
    } catch {
      fail('publicOrigin', 'must be an http: or https: origin without path, query or fragment');
    }
  }
  const frozen = Object.freeze([...new Set(algorithms as DpopAlgorithm[])]);
  return { replayCache, required: o.required === true, nonces, algorithms: frozen, publicOrigin, algs: frozen.join(' ') };
}

/** The one way a request without a proof is refused where one is required: no JWS at all (§4.3 step 2). */
export function missingProof(): SessionError {
  return new SessionError('ERR_DPOP_PROOF_INVALID', undefined, undefined, 'malformed');
}

/**
 * The public URL of the request for `htu` (§4.3 step 9): the configured
 * public origin, else the request's own (whose `Host` is the client's text:
 * one that makes no origin is refused as `htu`, never a 500), and the path
 * the endpoint answers on.
 */
export function requestHtu(publicOrigin: string | undefined, req: EndpointRequest, path: string | undefined, trustProxy: boolean | number): string {
  try {
    return publicRequestUrl(publicOrigin ?? ownOrigin(req, trustProxy) ?? '', path);
  } catch (error) {
    if (isSessionError(error, 'ERR_DPOP_PROOF_INVALID')) throw error;
    throw new SessionError('ERR_DPOP_PROOF_INVALID', undefined, undefined, 'htu');
  }
}

/**
 * The thumbprint of the request's proof for `POST path` (RFC 9449 §4.3: one
 * `DPoP` header, every rule of the proof, the server's nonce when nonces are
 * on; then §11.1, the `jti` never seen before), or undefined when the request
 * carries none. A proof token endpoints see has no `ath`: no access token
 * comes with it (§5). Throws the proof's SessionError.
 */
export async function proofThumbprint(dpop: NormalizedDpop, req: EndpointRequest, path: string | undefined, trustProxy: boolean | number): Promise<string | undefined> {
  const header = singleDpopHeader(req.headers.dpop);
  if (header === undefined) return undefined;
  const proof = verifyDpopProof(header, { method: req.method, url: requestHtu(dpop.publicOrigin, req, path, trustProxy), nonce: dpop.nonces, algorithms: dpop.algorithms });
  await checkDpopReplay(dpop.replayCache, proof);
  return proof.jkt;
}

/**
 * The headers of a DPoP refusal (RFC 9449 §7.1, §8): the `DPoP` challenge
 * with the algorithms accepted — `use_dpop_nonce` when the nonce was missing
 * or stale, `invalid_dpop_proof` otherwise (no proof for a bound session
 * included: never a Bearer challenge, no downgrade) — and, with nonces, a fresh one.
 */
export function dpopChallenge(code: HttpErrorCode, dpop: NormalizedDpop | undefined): Record<string, string> | undefined {
  if (code !== 'ERR_DPOP_PROOF_INVALID' && code !== 'ERR_DPOP_NONCE_REQUIRED' && code !== 'ERR_DPOP_BINDING_MISMATCH') return undefined;
  const error = code === 'ERR_DPOP_NONCE_REQUIRED' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  const headers: Record<string, string> = { 'www-authenticate': `DPoP error="${error}", algs="${dpop?.algs ?? DEFAULT_DPOP_ALGORITHMS.join(' ')}"` };
  if (dpop?.nonces !== undefined) headers['dpop-nonce'] = dpop.nonces.current();
  return headers;
}

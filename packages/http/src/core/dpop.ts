import {
  SessionError,
  checkDpopReplay,
  dpopChallenge as coreChallenge,
  dpopRequestUrl,
  normalizeDpopOptions,
  singleDpopHeader,
  verifyDpopProof,
  type DpopNonceSource as CoreNonceSource,
  type DpopOptions,
  type NormalizedDpopOptions,
} from '@jwt-session/session-core';
import { SessionHttpError, type HttpErrorCode } from './errors.js';
import type { EndpointRequest } from './request.js';

/** Server nonces (RFC 9449 §8): session-core's, re-exported under the name this package has always used. */
export type DpopNonceSource = CoreNonceSource;

/** `dpop` option of the endpoints: session-core's `DpopOptions`, the same shape every guard of the library takes. */
export type DpopEndpointOptions = DpopOptions;

export type NormalizedDpop = NormalizedDpopOptions;

/** The `dpop` option, checked at construction (session-core's `normalizeDpopOptions`), as this package's error. */
export function normalizeDpop(value: unknown): NormalizedDpop | undefined {
  try {
    return normalizeDpopOptions(value);
  } catch (error) {
    throw new SessionHttpError('ERR_CONFIG_INVALID', (error as Error).message);
  }
}

/** The one way a request without a proof is refused where one is required: no JWS at all (§4.3 step 2). */
export function missingProof(): SessionError {
  return new SessionError('ERR_DPOP_PROOF_INVALID', undefined, undefined, 'malformed');
}

/**
 * The public URL of the request for `htu` (§4.3 step 9): session-core's
 * `dpopRequestUrl` (the configured public origin, else the request's own)
 * and the path the endpoint answers on.
 */
export function requestHtu(publicOrigin: string | undefined, req: EndpointRequest, path: string | undefined, trustProxy: boolean | number): string {
  return dpopRequestUrl(publicOrigin, req, path, trustProxy);
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

/** The headers of a DPoP refusal (RFC 9449 §7.1, §8): session-core's `dpopChallenge`, shared with every guard. */
export function dpopChallenge(code: HttpErrorCode, dpop: NormalizedDpop | undefined): Record<string, string> | undefined {
  return coreChallenge(code, dpop);
}

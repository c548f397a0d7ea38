import { createHash, createPublicKey } from 'node:crypto';
import { SessionError, isSessionError } from '../errors.js';
import { asciiEqual } from '../lib/ascii-equal.js';
import { jwsPrimitive } from '../lib/jws/algorithms.js';
import { isJsonObject, parseJsonObject } from '../lib/jws/header.js';
import { isWellFormedJws } from '../lib/token-syntax.js';
import { PRIMITIVE_OF, algorithmSet, keyFits, type DpopAlgorithm } from './algorithms.js';
import { normalizeHtu } from './htu.js';
import { hasPrivateMembers, readPublicJwk, type DpopPublicJwk } from './jwk.js';
import { ProofKeyCache, type ProofKey } from './key-cache.js';
import { dpopError } from './refusal.js';
import { thumbprintOf } from './thumbprint.js';

/** Longest proof looked at (characters); a longer one is refused before any parsing. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** Longest encoded header: room for an RSA-8192 `jwk` (~1,950 characters), not for anything much larger. */
export const MAX_DPOP_HEADER_LENGTH = 2560;
/** Longest `jti` accepted (RFC 9449 §4.2 asks for 96 bits of randomness; 256 characters leave room for any encoding of it). */
export const MAX_DPOP_JTI_LENGTH = 256;
/** Seconds a proof is accepted after its `iat`, by default (RFC 9449 §11.1: "a relatively brief period"). */
export const DEFAULT_DPOP_MAX_AGE = 60;
/** Seconds a proof's `iat` may lie in the future, by default: client clocks run a little ahead. */
export const DEFAULT_DPOP_CLOCK_TOLERANCE = 5;

/** Anything that tells whether a nonce is current: a {@link DpopNonces}, for one. */
export interface DpopNonceCheck {
  check(nonce: string): boolean;
}

/** The request a proof came with, and the policy to check it by. */
export interface DpopProofCheck {
  /** The request's method, as received (RFC 9449 §4.3 step 8 compares `htm` to it exactly). */
  method: string;
  /**
   * The request's absolute URL as the client addressed it (behind a proxy:
   * see `publicRequestUrl`); its query and fragment are ignored and it is
   * normalised as `htu` is (`normalizeHtu`, §4.3 step 9).
   */
  url: string;
  /** The access token presented with the proof, if any: then `ath` must be its hash (§4.3 step 12, §7.1). */
  accessToken?: string | undefined;
  /** The `cnf.jkt` of the token presented (§6.1): then the proof's key must have this thumbprint (§4.3 step 12). */
  expectedJkt?: string | undefined;
  /**
   * When the server uses nonces (§8, §9): the expected value, or a checker
   * such as a `DpopNonces`. A missing or stale `nonce` is refused with
   * ERR_DPOP_NONCE_REQUIRED, so the server can answer `use_dpop_nonce`.
   */
  nonce?: string | DpopNonceCheck | undefined;
  /** Milliseconds since the epoch. @default Date.now() */
  now?: number | undefined;
  /** Seconds a proof is accepted after its `iat` (§4.3 step 11, §11.1). @default 60 */
  maxAge?: number | undefined;
  /** Seconds a proof's `iat` may lie ahead of `now` (§4.3 step 11). @default 5 */
  clockTolerance?: number | undefined;
  /** The algorithms accepted (§4.3 step 5); a frozen array is checked once. @default ['ES256'] */
  algorithms?: readonly DpopAlgorithm[] | undefined;
}

/** What a proof that passed every check says. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof's key: the `cnf.jkt` a token bound to it carries (§6.1). */
  jkt: string;
  /** The proof's public key (its required members). */
  jwk: DpopPublicJwk;
  algorithm: DpopAlgorithm;
  jti: string;
  /** Seconds since the epoch, as in the proof. */
  iat: number;
  htm: string;
  /** The normalised `htu`. */
  htu: string;
  nonce?: string;
  /**
   * Milliseconds from `now` for which this proof could still be accepted, on
   * this node or on one whose clock is up to `clockTolerance` behind: how
   * long a replay cache must remember its `jti`.
   */
  replayTtl: number;
}

/** Shared by every call: keyed by the encoded header, which fixes the key. */
export const proofKeys = new ProofKeyCache(1024);

const invalid = (reason: Parameters<typeof dpopError>[1]) => dpopError('ERR_DPOP_PROOF_INVALID', reason);

function configError(name: string, message: string): SessionError {
  return new SessionError('ERR_CONFIG_INVALID', `options.${name} ${message}`);
}

function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw configError(name, 'must be a finite number >= 0 (seconds)');
  return value;
}

/**
 * The key of a proof from its encoded header (RFC 9449 §4.2, §4.3 steps 2, 4,
 * 5 and 7), from the cache when this header was seen before. The allow-list
 * is the caller's and is applied on every call, cached or not.
 */
function proofKey(encodedHeader: string): ProofKey {
  const cached = proofKeys.get(encodedHeader);
  if (cached !== undefined) return cached;
  // Bounded before any parsing: an RSA-8192 key fits, a megabyte of JSON does not.
  if (encodedHeader.length > MAX_DPOP_HEADER_LENGTH) throw invalid('too_large');
  const header = parseJsonObject(encodedHeader);
  if (header === undefined) throw invalid('malformed');
  // §4.3 step 4: the explicit type keeps other JWTs (an ID token, an access token) from passing as a proof.
  if (header.typ !== 'dpop+jwt') throw invalid('type');
  // §4.3 step 5: an asymmetric algorithm this library knows; the caller's allow-list is applied by the caller of proofKey.
  const algorithm = header.alg;
  if (typeof algorithm !== 'string' || !Object.hasOwn(PRIMITIVE_OF, algorithm)) throw invalid('algorithm');
  // RFC 7515 §4.1.11: an extension the verifier must understand; none is defined for DPoP.
  if (Object.hasOwn(header, 'crit')) throw invalid('header');
  const jwk = header.jwk;
  // §4.3 step 7: a proof must never carry the private key (a client that sends it has leaked it).
  if (isJsonObject(jwk) && hasPrivateMembers(jwk)) throw invalid('private_key');
  const publicJwk = readPublicJwk(jwk);
  const dpopAlgorithm = algorithm as DpopAlgorithm;
  if (!keyFits(dpopAlgorithm, publicJwk)) throw invalid('jwk');
  let primitive;
  try {
    primitive = jwsPrimitive(PRIMITIVE_OF[dpopAlgorithm], undefined, createPublicKey({ key: publicJwk, format: 'jwk' }));
  } catch {
    // node:crypto refuses a point that is not on its curve.
    throw invalid('jwk');
  }
  const key: ProofKey = { algorithm: dpopAlgorithm, jwk: publicJwk, jkt: thumbprintOf(publicJwk), primitive };
  proofKeys.add(encodedHeader, key);
  return key;
}

/** `ath` (§4.2): base64url of the SHA-256 of the access token's ASCII text. */
export function accessTokenHash(accessToken: string): string {
  // A client sends its access token with every proof until it refreshes: the last hash is kept for the next request.
  if (accessToken === lastAth.token) return lastAth.hash;
  const hash = createHash('sha256').update(accessToken, 'latin1').digest('base64url');
  lastAth = { token: accessToken, hash };
  return hash;
}

let lastAth = { token: '', hash: createHash('sha256').digest('base64url') };

function checkRequest(options: DpopProofCheck): void {
  if (options === null || typeof options !== 'object') throw new SessionError('ERR_CONFIG_INVALID', 'verifyDpopProof needs an options object');
  if (typeof options.method !== 'string' || options.method.length === 0) throw configError('method', 'must be the request method');
  if (options.accessToken !== undefined && typeof options.accessToken !== 'string') throw configError('accessToken', 'must be a string');
  if (options.expectedJkt !== undefined && typeof options.expectedJkt !== 'string') throw configError('expectedJkt', 'must be a string');
  const nonce = options.nonce;
  if (nonce !== undefined && typeof nonce !== 'string' && typeof (nonce as { check?: unknown } | null)?.check !== 'function') {
    throw configError('nonce', 'must be a string or have a check(nonce) method');
  }
  if (options.now !== undefined && (typeof options.now !== 'number' || !Number.isFinite(options.now))) throw configError('now', 'must be a number of milliseconds');
}

/**
 * Checks a DPoP proof (RFC 9449) by every rule of §4.3, in an order that
 * spends no cryptography on a proof that breaks a cheaper rule:
 *
 * 1. one `DPoP` header: the caller's, see `singleDpopHeader` (step 1);
 * 2. size bounds, then one compact JWS whose header and payload are JSON objects (step 2);
 * 3. `typ` is `dpop+jwt` (step 4); `alg` an asymmetric algorithm of the allow-list (step 5);
 *    no `crit`; `jwk` a supported public key for `alg`, with no private member (step 7);
 * 4. the claims of §4.2 (step 3): `jti`; `htm` equals the method (step 8); `htu` equals
 *    the URL, normalised (step 9); `iat` within `maxAge` past and `clockTolerance` ahead
 *    (step 11); with an access token, `ath` is its hash (step 12);
 * 5. the signature, with `jwk` (step 6);
 * 6. the server's nonce, when one is used (step 10): ERR_DPOP_NONCE_REQUIRED;
 * 7. the key's thumbprint equals `expectedJkt` (step 12, §6.1): ERR_DPOP_BINDING_MISMATCH.
 *
 * Every other refusal is ERR_DPOP_PROOF_INVALID. The `jti` is not looked up
 * here: pass the result to `checkDpopReplay` for that (§11.1). Bad options
 * throw ERR_CONFIG_INVALID. Synchronous; the proof's key is imported into
 * node:crypto once per header, not per request.
 *
 * @example
 * ```ts
 * const proof = verifyDpopProof(req.headers.dpop, {
 *   method: req.method,
 *   url: publicRequestUrl('https://api.example.com', req.url),
 *   accessToken,
 *   expectedJkt: claims.cnf.jkt,
 * });
 * ```
 */
export function verifyDpopProof(proof: unknown, options: DpopProofCheck): VerifiedDpopProof {
  try {
    return verify(proof, options);
  } catch (error) {
    // A hostile options object (a getter that throws) is the caller's bug: reported as such, not as a crash.
    throw isSessionError(error) ? error : new SessionError('ERR_CONFIG_INVALID', 'verifyDpopProof options could not be read');
  }
}

function verify(proof: unknown, options: DpopProofCheck): VerifiedDpopProof {
  checkRequest(options);
  const algorithms = algorithmSet(options.algorithms);
  const maxAge = seconds(options.maxAge, 'maxAge', DEFAULT_DPOP_MAX_AGE);
  const tolerance = seconds(options.clockTolerance, 'clockTolerance', DEFAULT_DPOP_CLOCK_TOLERANCE);
  const now = options.now ?? Date.now();

  // §4.3 step 2, bounded: the length before anything else, so a huge value costs nothing.
  if (typeof proof !== 'string') throw invalid('malformed');
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw invalid('too_large');
  if (!isWellFormedJws(proof)) throw invalid('malformed');
  const first = proof.indexOf('.');
  const second = proof.indexOf('.', first + 1);
  const key = proofKey(proof.slice(0, first));
  if (!algorithms.has(key.algorithm)) throw invalid('algorithm');

  const claims = parseJsonObject(proof.slice(first + 1, second));
  if (claims === undefined) throw invalid('malformed');
  // §4.2: a unique identifier, for the replay check (§11.1).
  const { jti, htm, htu, iat, ath, nonce } = claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_DPOP_JTI_LENGTH) throw invalid('jti');
  // §4.3 step 8: methods are case-sensitive (RFC 9110 §9.1).
  if (htm !== options.method) throw invalid('htm');
  // §4.3 step 9. The request's URL is normalised first: an htu spelt the same way needs no second parse.
  const url = normalizeHtu(options.url);
  if (url === undefined || typeof htu !== 'string' || (htu !== url && normalizeHtu(htu) !== url)) throw invalid('htu');
  // §4.3 step 11: iat is seconds (RFC 7519 §2 NumericDate).
  if (typeof iat !== 'number' || !Number.isFinite(iat) || iat * 1000 < now - maxAge * 1000 || iat * 1000 > now + tolerance * 1000) throw invalid('iat');
  // §4.3 step 12 and §7.1: a proof sent with an access token names that token.
  if (options.accessToken !== undefined && (typeof ath !== 'string' || !asciiEqual(ath, accessTokenHash(options.accessToken)))) throw invalid('ath');

  // §4.3 step 6: the only cryptography, once every cheaper rule has passed.
  if (!key.primitive.verifyBase64url(proof.slice(0, second), proof.slice(second + 1))) throw invalid('signature');

  // §4.3 step 10 (§8, §9): a distinct code, answered with use_dpop_nonce and a fresh nonce.
  const expectedNonce = options.nonce;
  if (expectedNonce !== undefined) {
    const fresh = typeof nonce === 'string' && (typeof expectedNonce === 'string' ? nonce === expectedNonce : expectedNonce.check(nonce) === true);
    if (!fresh) throw dpopError('ERR_DPOP_NONCE_REQUIRED', 'nonce');
  }
  // §4.3 step 12 and §6.1: the token is bound to a key, and this proof was made with another.
  if (options.expectedJkt !== undefined && !asciiEqual(options.expectedJkt, key.jkt)) throw dpopError('ERR_DPOP_BINDING_MISMATCH', 'binding');

  return {
    jkt: key.jkt,
    jwk: key.jwk,
    algorithm: key.algorithm,
    jti,
    iat,
    htm,
    htu: url,
    ...(typeof nonce === 'string' ? { nonce } : {}),
    replayTtl: Math.max(1000, Math.ceil(iat * 1000 + (maxAge + tolerance) * 1000 - now)),
  };
}

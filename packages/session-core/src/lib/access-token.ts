import type { JWTPayload } from 'jose';
import { SessionError, type SessionErrorReason } from '../errors.js';
import type { ResolvedKey } from '../keys.js';
import { jwsPrimitive, type JwsPrimitive } from './jws/algorithms.js';
import { decodeJsonText, encodeHeader, isJsonObject } from './jws/header.js';
import { signCompactJws } from './jws/sign.js';
import { verifyCompactJws, type JwsKeys, type JwsVerificationKey } from './jws/verify.js';

/** RFC 9068 §2.1: access-token JWTs carry typ "at+jwt" so they cannot be confused with ID tokens. Compared exactly. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Present in every token this library issues (`nbf` is optional). */
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'] as const;

/*
 * Messages are fixed per code: nothing from the token (which the caller may
 * log) and no hint for an attacker about which check failed. Which one did is
 * the `reason`, for the operator only.
 */
const INVALID_MESSAGE = 'access token is invalid';
const EXPIRED_MESSAGE = 'access token has expired';

export function invalidAccessToken(reason: SessionErrorReason): SessionError {
  return new SessionError('ERR_AUTH_TOKEN_INVALID', INVALID_MESSAGE, undefined, reason);
}

/** The reason of each JwsFailure, by its number. */
const JWS_REASONS: readonly SessionErrorReason[] = ['header', 'type', 'unknown_key', 'algorithm', 'signature'];

interface Signer {
  encodedHeader: string;
  primitive: JwsPrimitive;
}
const signers = new WeakMap<ResolvedKey, Signer>();

function signerOf(key: ResolvedKey): Signer {
  let signer = signers.get(key);
  if (signer === undefined) {
    signer = {
      encodedHeader: encodeHeader({ alg: key.algorithm, kid: key.kid, typ: ACCESS_TOKEN_TYPE }),
      primitive: jwsPrimitive(key.algorithm, key.signKeyObject, key.verifyKeyObject),
    };
    signers.set(key, signer);
  }
  return signer;
}

/**
 * Signs synchronously with node:crypto a payload already serialised to JSON
 * text (see access-token-payload.ts); the header is `{alg, kid, typ: "at+jwt"}`
 * of the key.
 */
export function signAccessToken(json: string, key: ResolvedKey): string {
  const signer = signerOf(key);
  return signCompactJws(signer.encodedHeader, json, signer.primitive);
}

export interface VerifyConfig {
  /** Made once by `keyResolver`: the configured keys, by `kid`. */
  resolveKey: JwsKeys;
  /** One issuer, or several accepted ones (a verifier serving several tenants). */
  issuer: string | readonly string[];
  audience: string | string[];
  clockTolerance: number;
}

/**
 * The key for a token comes from the configured keys by `kid`, and only when
 * the header's `alg` is that key's algorithm and its `typ` is "at+jwt": a
 * header can never name its own key (`jwk`, `jku`, `x5u` are refused by
 * parseHeader), and an HS256 token can never be checked against an
 * asymmetric key's public bytes.
 */
export function keyResolver(keys: readonly ResolvedKey[]): JwsKeys {
  const byKid = new Map<string, JwsVerificationKey>();
  const known = new Map<string, JwsVerificationKey>();
  for (const key of keys) {
    const entry = { algorithm: key.algorithm, primitive: signerOf(key).primitive };
    byKid.set(key.kid, entry);
    known.set(signerOf(key).encodedHeader, entry);
  }
  return { type: ACCESS_TOKEN_TYPE, known, select: (kid) => byKid.get(kid) };
}

function audienceMatches(aud: unknown, audience: string | string[]): boolean {
  const accepted = typeof audience === 'string' ? [audience] : audience;
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && accepted.some((a) => aud.includes(a));
}

/**
 * Full verification, synchronous: signature (lib/jws), then the claims in
 * the order of RFC 7519 §7.2 and of jose's jwtVerify, which the differential
 * test holds this to: presence, iss, aud, the types of iat and nbf, nbf, and
 * exp last, so a token that fails anything else is invalid rather than
 * expired. `now` in ms; NumericDates are compared in whole seconds.
 */
export function verifyAccessToken(token: string, config: VerifyConfig, now: number): JWTPayload {
  const encodedPayload = verifyCompactJws(token, config.resolveKey);
  if (typeof encodedPayload !== 'string') throw invalidAccessToken(JWS_REASONS[encodedPayload]!);
  const text = decodeJsonText(encodedPayload);
  if (text === undefined) throw invalidAccessToken('malformed');
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch {
    throw invalidAccessToken('malformed');
  }
  if (!isJsonObject(claims)) throw invalidAccessToken('malformed');
  for (const name of REQUIRED_CLAIMS) if (!Object.hasOwn(claims, name)) throw invalidAccessToken('missing_claim');
  const issuerMatches = typeof config.issuer === 'string' ? claims.iss === config.issuer : typeof claims.iss === 'string' && config.issuer.includes(claims.iss);
  if (!issuerMatches) throw invalidAccessToken('issuer');
  if (!audienceMatches(claims.aud, config.audience)) throw invalidAccessToken('audience');
  const { iat, nbf, exp } = claims;
  if (typeof iat !== 'number' || (nbf !== undefined && typeof nbf !== 'number') || typeof exp !== 'number') throw invalidAccessToken('invalid_claim');
  const seconds = Math.floor(now / 1000);
  const tolerance = config.clockTolerance;
  if (nbf !== undefined && nbf > seconds + tolerance) throw invalidAccessToken('not_yet_valid');
  if (exp <= seconds - tolerance) throw new SessionError('ERR_AUTH_TOKEN_EXPIRED', EXPIRED_MESSAGE, undefined, 'expired');
  return claims as JWTPayload;
}

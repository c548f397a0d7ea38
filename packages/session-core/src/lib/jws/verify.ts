import type { JwsPrimitive } from './algorithms.js';
import { parseHeader, type JwsHeader } from './header.js';

/** What the verifier needs of a key: the algorithm it is for, and its primitive. */
export interface JwsVerificationKey {
  algorithm: string;
  primitive: JwsPrimitive;
}

export interface JwsKeys {
  /** The one `typ` accepted, compared exactly. */
  type: string;
  /** The key of a `kid`, or undefined when none has it. */
  select(kid: string): JwsVerificationKey | undefined;
  /** Header segments exactly as this library signs them, with their key: these skip JSON parsing. */
  known: ReadonlyMap<string, JwsVerificationKey>;
}

/*
 * Why a JWS was refused: small integers, so that verifyCompactJws answers
 * "the payload" or "why not" without allocating, and its caller tells them
 * apart with one typeof.
 */
/** The header is not exactly `{alg, kid, typ}` of strings in canonical base64url JSON. */
export const JWS_HEADER = 0;
/** `typ` is not the accepted one. */
export const JWS_TYPE = 1;
/** No key has the header's `kid`. */
export const JWS_UNKNOWN_KEY = 2;
/** `alg` is not the algorithm of the key with that `kid`. */
export const JWS_ALGORITHM = 3;
/** The signature does not verify. */
export const JWS_SIGNATURE = 4;
export type JwsFailure = typeof JWS_HEADER | typeof JWS_TYPE | typeof JWS_UNKNOWN_KEY | typeof JWS_ALGORITHM | typeof JWS_SIGNATURE;

/**
 * Verifies a compact JWS (RFC 7515 §7.1) whose syntax `isWellFormedJws`
 * already accepted (three canonical base64url segments), and returns its
 * payload segment, still encoded, or the {@link JwsFailure} that refused it.
 */
export function verifyCompactJws(token: string, keys: JwsKeys): string | JwsFailure {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const encodedHeader = token.slice(0, first);
  let key = keys.known.get(encodedHeader);
  if (key === undefined) {
    const header = parseHeader(encodedHeader);
    if (header === undefined) return JWS_HEADER;
    if (header.typ !== keys.type) return JWS_TYPE;
    key = keys.select(header.kid);
    if (key === undefined) return JWS_UNKNOWN_KEY;
    // The algorithm comes from the key, never from the token: the header may only agree with it.
    if (key.algorithm !== header.alg) return JWS_ALGORITHM;
  }
  if (!key.primitive.verifyBase64url(token.slice(0, second), token.slice(second + 1))) return JWS_SIGNATURE;
  return token.slice(first + 1, second);
}

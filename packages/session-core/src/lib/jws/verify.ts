import type { JwsPrimitive } from './algorithms.js';
import { parseHeader, type JwsHeader } from './header.js';

/** What the verifier needs of a key: the algorithm it is for, and its primitive. */
export interface JwsVerificationKey {
  algorithm: string;
  primitive: JwsPrimitive;
}

export interface JwsKeys {
  /** The key for a parsed header, or undefined to refuse it (unknown kid, wrong alg or typ). */
  select(header: JwsHeader): JwsVerificationKey | undefined;
  /** Header segments exactly as this library signs them, with their key: these skip JSON parsing. */
  known: ReadonlyMap<string, JwsVerificationKey>;
}

/**
 * Verifies a compact JWS (RFC 7515 §7.1) whose syntax `isWellFormedJws`
 * already accepted (three canonical base64url segments), and returns its
 * payload segment, still encoded. Undefined when the header is not one this
 * library accepts or the signature does not verify; the caller reports both
 * the same way.
 */
export function verifyCompactJws(token: string, keys: JwsKeys): string | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const encodedHeader = token.slice(0, first);
  let key = keys.known.get(encodedHeader);
  if (key === undefined) {
    const header = parseHeader(encodedHeader);
    if (header === undefined) return undefined;
    key = keys.select(header);
    // The algorithm comes from the key, never from the token: the header may only agree with it.
    if (key === undefined || key.algorithm !== header.alg) return undefined;
  }
  if (!key.primitive.verifyBase64url(token.slice(0, second), token.slice(second + 1))) return undefined;
  return token.slice(first + 1, second);
}

import { createHmac, hash } from 'node:crypto';
import { asciiEqual } from './ascii-equal.js';

/*
 * A refresh token is `<sessionId>.<deadline>.<secret>.<mac>`:
 * - sessionId: public, 26 characters (see ids.ts);
 * - deadline: when this token stops working, Unix seconds in base 36, used
 *   only to tell "expired" from "invalid" once the store has forgotten the
 *   session;
 * - secret: 256 bits, base64url. Only its SHA-256 is stored. A hash suffices
 *   (no slow KDF): the secret has full entropy, so there is nothing to guess;
 * - mac: 128 bits of HMAC(refresh key, sessionId, deadline, secret). It is
 *   checked before anything else, in constant time and without a store call,
 *   so a forged token costs one HMAC: the session id is public (the `sid`
 *   claim), and without it a random secret for a real session reached the
 *   store and the successor walk below, up to 1,024 HMAC steps per request.
 *
 * Successors are derived, not drawn: next = SHA-256("jwt-session/rotate/v2",
 * sessionId, secret). The same presented token therefore always yields the
 * same successor, which makes a refresh idempotent within the reuse interval
 * (two tabs, a retried request). The derivation needs no key: only the holder
 * of a secret can compute its successors (256 bits in, domain-separated from
 * the stored hash, which is SHA-256 of the secret alone), and a secret without
 * its mac is worth nothing, since every token passes the mac check before
 * anything else and the mac needs the key. It was an HMAC under that same key
 * (rotate/v1), which protected nothing more and cost an HMAC's setup (~2 µs,
 * a tenth of update()) against a one-shot hash's ~0.6 µs.
 * A token with a valid mac that the store no longer holds as current or
 * previous was issued by us and rotated out: reuse, which revokes the session.
 *
 * Format change: tokens of the three-segment format (before the mac) are
 * refused as malformed; their holders sign in again once.
 *
 * A session bound to a DPoP key (RFC 9449 §5: "refresh tokens issued to
 * public clients ... MUST be bound") has tokens of five segments,
 * `<sessionId>.<deadline>.<secret>.<jkt>.<mac>`: the key's RFC 7638
 * thumbprint sits under the mac, so the manager knows the key a refresh must
 * be made with before it asks the store anything, and a refusal leaves the
 * session untouched. Removing the segment breaks the mac (the mac of a bound
 * token covers one more field), so a bound token cannot be turned into an
 * unbound one.
 *
 * A session whose device the manager's `drift` option watches (drift.ts) has
 * one more segment before the mac, `~<22 characters>`: the keyed marks of the
 * device summary and network its holder presented, under the mac too.
 */
const PATTERN = /^([A-Za-z0-9_-]{26})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})(?:\.([A-Za-z0-9_-]{43}))?(?:\.~([A-Za-z0-9_-]{22}))?\.([A-Za-z0-9_-]{22})$/;
export const REFRESH_TOKEN_MAX_LENGTH = 26 + 1 + 11 + 1 + 43 + 1 + 43 + 2 + 22 + 1 + 22;

export interface ParsedRefreshToken {
  sessionId: string;
  /** ms */
  deadline: number;
  secret: string;
  /** The thumbprint of the DPoP key the session is bound to; absent for an unbound session. */
  jkt: string | undefined;
  /** The drift marks of the device its holder presented (drift.ts); absent when none was. */
  drift: string | undefined;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEXTET = new Uint8Array(128);
for (let i = 0; i < 64; i++) SEXTET[BASE64URL.charCodeAt(i)] = i;

/**
 * The mac as it is written: the first 16 bytes of the HMAC, base64url (22
 * characters, the last holding 2 bits of the mac and 4 zero bits). Taken from
 * the digest's own base64url text, which costs less than a Buffer digest
 * re-encoded: its first 21 characters are the mac's, and the 22nd is cut to
 * its top 2 bits.
 */
function mac(key: Uint8Array, sessionId: string, deadline: string, secret: string, jkt: string | undefined, drift: string | undefined): string {
  // The secret has a fixed length and no NUL, so the bound form (one more field) never equals an unbound one; the drift field is marked by its `~`.
  const input = `jwt-session/refresh-mac/v1\0${sessionId}\0${deadline}\0${secret}${jkt === undefined ? '' : `\0${jkt}`}${drift === undefined ? '' : `\0~${drift}`}`;
  const full = createHmac('sha256', key).update(input, 'utf8').digest('base64url');
  return full.slice(0, 21) + BASE64URL[SEXTET[full.charCodeAt(21)]! & 0b110000]!;
}

/**
 * The token's parts when it is well-formed and its mac is ours, before any
 * store call; otherwise why not: `'format'` (not a string of the four
 * segments) or `'mac'` (well-formed, but not made with this key).
 */
export function parseRefreshToken(key: Uint8Array, token: unknown): ParsedRefreshToken | 'format' | 'mac' {
  if (typeof token !== 'string' || token.length > REFRESH_TOKEN_MAX_LENGTH) return 'format';
  const match = PATTERN.exec(token);
  if (match === null) return 'format';
  const [, sessionId, deadline, secret, jkt, drift, presented] = match as unknown as [string, string, string, string, string | undefined, string | undefined, string];
  // Compared as text with the one spelling we write: 22 characters may carry stray low bits past the 16 bytes, and a token that sets them is refused.
  if (!asciiEqual(presented, mac(key, sessionId, deadline, secret, jkt, drift))) return 'mac';
  return { sessionId, deadline: Number.parseInt(deadline, 36) * 1000, secret, jkt, drift };
}

/** `jkt`: the thumbprint of the DPoP key a bound session is bound to (43 base64url characters). */
export function formatRefreshToken(key: Uint8Array, sessionId: string, deadlineMs: number, secret: string, jkt?: string, drift?: string): string {
  const deadline = Math.ceil(deadlineMs / 1000).toString(36);
  return `${sessionId}.${deadline}.${secret}${jkt === undefined ? '' : `.${jkt}`}${drift === undefined ? '' : `.~${drift}`}.${mac(key, sessionId, deadline, secret, jkt, drift)}`;
}

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
}

export function successorSecret(sessionId: string, secret: string): string {
  return hash('sha256', `jwt-session/rotate/v2\0${sessionId}\0${secret}`, 'base64url');
}

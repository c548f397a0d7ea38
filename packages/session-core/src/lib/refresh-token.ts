import { createHmac, hash, timingSafeEqual } from 'node:crypto';

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
 * Successors are derived, not drawn. One HMAC-SHA-512 of the token's parts
 * gives both: its first 16 bytes are the mac, the next 32 the successor's
 * secret (two disjoint parts of one PRF output, as HKDF-Expand would split
 * it; seeing a token's mac tells nothing of its successor). `update()` thus
 * pays one HMAC for checking the presented token and deriving what replaces
 * it. The same presented token always yields the same successor, which makes
 * a refresh idempotent within the reuse interval (two tabs, a retried request).
 * A token with a valid mac that the store no longer holds as current or
 * previous was issued by us and rotated out: reuse, which revokes the session.
 *
 * Format changes: tokens of the three-segment format (before the mac) are
 * refused as malformed, and tokens whose mac was an HMAC-SHA-256 (labelled
 * refresh-mac/v1, before the successor came from the same HMAC) as forged;
 * their holders sign in again once.
 */
const PATTERN = /^([A-Za-z0-9_-]{26})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;
export const REFRESH_TOKEN_MAX_LENGTH = 26 + 1 + 11 + 1 + 43 + 1 + 22;

export interface ParsedRefreshToken {
  sessionId: string;
  /** ms */
  deadline: number;
  secret: string;
  /** The secret of the token that replaces this one. */
  successor: string;
}

/** HMAC-SHA-512 of a token's parts: its mac and its successor's secret (see above). */
function prf(key: Uint8Array, sessionId: string, deadline: string, secret: string): Buffer {
  return createHmac('sha512', key).update(`jwt-session/refresh/v2\0${sessionId}\0${deadline}\0${secret}`, 'utf8').digest();
}

/** The mac as it is written: the first 16 bytes of the HMAC, base64url (22 characters, the last holding 2 bits of the mac and 4 zero bits). */
function macOf(digest: Buffer): string {
  return digest.toString('base64url', 0, 16);
}

/** The successor's secret: the HMAC's bytes 16 to 47, base64url (43 characters). */
function successorOf(digest: Buffer): string {
  return digest.toString('base64url', 16, 48);
}

/*
 * The two macs (22 ASCII characters each, by the pattern and by `mac`) are
 * compared through two buffers kept for it, not two new Buffers per update().
 * Calls are synchronous, so one pair serves all; the expected mac is wiped
 * after each compare.
 */
const presentedMac = Buffer.alloc(22);
const expectedMac = Buffer.alloc(22);

function isOurMac(presented: string, expected: string): boolean {
  if (presented.length !== 22) return false;
  presentedMac.write(presented, 0, 22, 'latin1');
  expectedMac.write(expected, 0, 22, 'latin1');
  const equal = timingSafeEqual(presentedMac, expectedMac);
  expectedMac.fill(0);
  return equal;
}

/** The token's parts when it is well-formed and its mac is ours; undefined for anything else, before any store call. */
export function parseRefreshToken(key: Uint8Array, token: unknown): ParsedRefreshToken | undefined {
  if (typeof token !== 'string' || token.length > REFRESH_TOKEN_MAX_LENGTH) return undefined;
  const match = PATTERN.exec(token);
  if (match === null) return undefined;
  const [, sessionId, deadline, secret, presented] = match as unknown as [string, string, string, string, string];
  const digest = prf(key, sessionId, deadline, secret);
  // Compared as text with the one spelling we write: 22 characters may carry stray low bits past the 16 bytes, and a token that sets them is refused.
  if (!isOurMac(presented, macOf(digest))) return undefined;
  return { sessionId, deadline: Number.parseInt(deadline, 36) * 1000, secret, successor: successorOf(digest) };
}

export function formatRefreshToken(key: Uint8Array, sessionId: string, deadlineMs: number, secret: string): string {
  const deadline = Math.ceil(deadlineMs / 1000).toString(36);
  return `${sessionId}.${deadline}.${secret}.${macOf(prf(key, sessionId, deadline, secret))}`;
}

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
}

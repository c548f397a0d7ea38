import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * A refresh token is `<sessionId>.<deadline>.<secret>`:
 * - sessionId: public, 26 characters (see ids.ts);
 * - deadline: when this token stops working, Unix seconds in base 36. It is not
 *   authenticated and is used only to tell "expired" from "invalid" once the
 *   store has forgotten the session;
 * - secret: 256 bits, base64url. Only its SHA-256 is stored. A hash suffices
 *   (no slow KDF): the secret has full entropy, so there is nothing to guess.
 *
 * Successors are derived, not drawn: next = HMAC(key, sessionId, secret). The
 * same presented token therefore always yields the same successor, which makes
 * a refresh idempotent within the reuse interval (two tabs, a retried request)
 * and lets the manager recognise a genuine older token by walking the chain
 * forward to the stored hash, telling reuse from forgery.
 */
const PATTERN = /^([A-Za-z0-9_-]{26})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;
export const REFRESH_TOKEN_MAX_LENGTH = 26 + 1 + 11 + 1 + 43;

export interface ParsedRefreshToken {
  sessionId: string;
  /** ms */
  deadline: number;
  secret: string;
}

export function parseRefreshToken(token: unknown): ParsedRefreshToken | undefined {
  if (typeof token !== 'string' || token.length > REFRESH_TOKEN_MAX_LENGTH) return undefined;
  const match = PATTERN.exec(token);
  if (match === null) return undefined;
  return { sessionId: match[1]!, deadline: Number.parseInt(match[2]!, 36) * 1000, secret: match[3]! };
}

export function formatRefreshToken(sessionId: string, deadlineMs: number, secret: string): string {
  return `${sessionId}.${Math.ceil(deadlineMs / 1000).toString(36)}.${secret}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

export function successorSecret(key: Uint8Array, sessionId: string, secret: string): string {
  return createHmac('sha256', key).update(`jwt-session/rotate/v1\0${sessionId}\0${secret}`, 'utf8').digest('base64url');
}

/** Constant-time comparison of two hashes (equal lengths by construction). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * True when walking the successor chain from `secret` reaches `targetHash`
 * within `maxSteps` rotations: the secret is an older genuine token of the
 * session, not a forgery.
 */
export function isAncestor(key: Uint8Array, sessionId: string, secret: string, targetHash: string, maxSteps: number): boolean {
  let current = secret;
  for (let step = 0; step < maxSteps; step++) {
    current = successorSecret(key, sessionId, current);
    if (sameHash(hashSecret(current), targetHash)) return true;
  }
  return false;
}

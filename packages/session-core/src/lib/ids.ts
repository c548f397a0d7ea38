import { SessionError } from '../errors.js';
import { hash } from 'node:crypto';
import { fillRandom, randomBase64url } from './random-pool.js';

/*
 * Session ids start with a 4-character tag derived from the subject, so a
 * store can put every key of one subject in one Redis Cluster slot and still
 * find a session from its refresh token alone (which carries only the id).
 * The rest is 128 random bits.
 */
const TAG_LENGTH = 4;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{26}$/;

/** The hash tag shared by a subject and all of its session ids. */
export function subjectHashTag(subject: string): string {
  if (typeof subject !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'subject must be a string');
  // One-shot crypto.hash: a third of createHash's cost per call, measured on every create().
  return hash('sha256', subject, 'base64url').slice(0, TAG_LENGTH);
}

/** The hash tag of a session id: equal to `subjectHashTag` of its subject. */
export function sessionHashTag(sessionId: string): string {
  if (typeof sessionId !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'sessionId must be a string');
  return sessionId.slice(0, TAG_LENGTH);
}

export function newSessionId(subject: string): string {
  return subjectHashTag(subject) + randomBase64url(16);
}

/*
 * A jti carries its issue time in milliseconds (48 bits) before 80 random
 * bits. `deleteAll` rejects tokens issued at or before a moment; a JWT's `iat`
 * has second granularity, which would reject sessions created in the same
 * second after the call.
 */
export function newTokenId(nowMs: number): string {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(Math.max(0, Math.floor(nowMs)), 0, 6);
  fillRandom(bytes, 6, 10);
  return bytes.toString('base64url');
}

/** The issue time of a jti made by newTokenId, or NaN for anything else. */
export function tokenIdTime(jti: string): number {
  if (jti.length !== 22) return Number.NaN;
  const bytes = Buffer.from(jti.slice(0, 8), 'base64url');
  return bytes.length === 6 ? bytes.readUIntBE(0, 6) : Number.NaN;
}

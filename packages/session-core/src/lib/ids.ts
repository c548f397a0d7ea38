import { SessionError } from '../errors.js';
import { hash } from 'node:crypto';
import { fillRandom, randomBase64url } from './random-pool.js';

/*
 * A session id is 26 characters: the subject's digest (the first 11
 * base64url characters of SHA-256 of the subject, 66 bits) and 15 random
 * characters (90 bits). A store can therefore find every session of a subject
 * from the refresh token alone (which carries only the id): the Redis store
 * keeps all of a subject's sessions under one key named by the digest, and
 * its first 4 characters are the subject's Redis Cluster hash tag. The id is
 * public (the `sid` claim) as the subject is (`sub`), so the digest reveals
 * nothing a token holder does not see; 90 random bits keep ids unique per
 * subject. Two subjects with the same digest are possible (it is not a
 * secret, and 66 bits can be brute-forced): stores must keep them apart by
 * the subject they record, never by the digest alone.
 */
const TAG_LENGTH = 4;
/** Length of the subject digest that starts every session id. */
export const SUBJECT_DIGEST_LENGTH = 11;
const RANDOM_LENGTH = 26 - SUBJECT_DIGEST_LENGTH;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{26}$/;

/** The 11-character digest shared by a subject and all of its session ids. */
export function subjectDigest(subject: string): string {
  if (typeof subject !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'subject must be a string', undefined, 'subject');
  // One-shot crypto.hash: a third of createHash's cost per call, measured on every create().
  return hash('sha256', subject, 'base64url').slice(0, SUBJECT_DIGEST_LENGTH);
}

/** The subject digest a session id starts with: equal to `subjectDigest` of its subject. */
export function sessionSubjectDigest(sessionId: string): string {
  if (typeof sessionId !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'sessionId must be a string', undefined, 'session_id');
  return sessionId.slice(0, SUBJECT_DIGEST_LENGTH);
}

/** The hash tag shared by a subject and all of its session ids (the digest's first 4 characters). */
export function subjectHashTag(subject: string): string {
  return subjectDigest(subject).slice(0, TAG_LENGTH);
}

/** The hash tag of a session id: equal to `subjectHashTag` of its subject. */
export function sessionHashTag(sessionId: string): string {
  if (typeof sessionId !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'sessionId must be a string', undefined, 'session_id');
  return sessionId.slice(0, TAG_LENGTH);
}

/** Whether `sessionId` is a well-formed session id that may belong to `subject` (its digest matches). */
export function isSessionIdOf(sessionId: string, subject: string): boolean {
  return SESSION_ID_PATTERN.test(sessionId) && sessionId.startsWith(subjectDigest(subject));
}

export function newSessionId(subject: string): string {
  return subjectDigest(subject) + randomBase64url(12).slice(0, RANDOM_LENGTH);
}

/** The jti's bytes, written and encoded in the same synchronous call: one buffer serves all (a jti is public, nothing to wipe). */
const TOKEN_ID = Buffer.alloc(16);

/*
 * A jti carries its issue time in milliseconds (48 bits) before 80 random
 * bits. `deleteAll` rejects tokens issued at or before a moment; a JWT's `iat`
 * has second granularity, which would reject sessions created in the same
 * second after the call.
 */
export function newTokenId(nowMs: number): string {
  const bytes = TOKEN_ID;
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

import { SessionError } from '../errors.js';
import type { SessionContext } from '../types.js';

/** Registered claims (RFC 7519 §4.1) and the library's own: callers may not set them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid']);
export const MAX_SUBJECT_LENGTH = 1024;
/** Claims ride in every access token; context is stored with the session. */
export const MAX_CLAIMS_BYTES = 4096;
export const MAX_CONTEXT_BYTES = 4096;
const MAX_DEPTH = 16;

function invalid(message: string): never {
  throw new SessionError('ERR_CLAIMS_INVALID', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Accepts exactly the values that survive a JSON round trip unchanged. */
function checkJson(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) invalid(`${path} is nested more than ${MAX_DEPTH} levels deep`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(`${path} must be a finite number`);
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((item, index) => checkJson(item, `${path}[${index}]`, depth + 1));
        return;
      }
      if (!isPlainObject(value)) invalid(`${path} must be a plain object`);
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) checkJson(item, `${path}.${key}`, depth + 1);
      }
      return;
    default:
      invalid(`${path} must be JSON (got ${typeof value})`);
  }
}

function jsonObject(value: unknown, name: string, maxBytes: number): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) invalid(`${name} must be a plain object`);
  checkJson(value, name, 0);
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') > maxBytes) invalid(`${name} must serialise to at most ${maxBytes} bytes of JSON`);
  return JSON.parse(json) as Record<string, unknown>;
}

export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) {
    invalid(`subject must be a non-empty string of at most ${MAX_SUBJECT_LENGTH} characters`);
  }
  return subject;
}

/** A copy of the caller's claims, checked: JSON only, no reserved names. */
export function checkClaims(claims: unknown): Record<string, unknown> {
  const copy = jsonObject(claims, 'claims', MAX_CLAIMS_BYTES);
  for (const name of Object.keys(copy)) {
    if (RESERVED_CLAIMS.has(name)) invalid(`claims.${name} is a registered or library claim and cannot be set`);
  }
  return copy;
}

export function checkContext(context: unknown): SessionContext {
  const copy = jsonObject(context, 'context', MAX_CONTEXT_BYTES);
  for (const name of ['ip', 'userAgent', 'device', 'location']) {
    if (copy[name] !== undefined && typeof copy[name] !== 'string') invalid(`context.${name} must be a string`);
  }
  return copy as SessionContext;
}

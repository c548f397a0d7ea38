import { SessionError, type SessionErrorReason } from '../errors.js';
import type { SessionContext } from '../types.js';

/**
 * Registered claims (RFC 7519 §4.1) and the library's own: callers may not set them. `cnf` (RFC 7800) is the
 * DPoP binding, set by `create({ dpop })` only; `auth_time`, `amr`, `acr` (RFC 9068 §2.2.1) by create() and
 * reauthenticate() from how the user authenticated (freshness.ts).
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'cnf', 'auth_time', 'amr', 'acr', 'dnh']);
export const MAX_SUBJECT_LENGTH = 1024;
/** Claims ride in every access token; context is stored with the session. */
export const MAX_CLAIMS_BYTES = 4096;
export const MAX_CONTEXT_BYTES = 4096;
const MAX_DEPTH = 16;

/** The reason names what was refused: `subject`, `claims` or `context`. */
function invalid(message: string, reason: SessionErrorReason): never {
  throw new SessionError('ERR_CLAIMS_INVALID', message, undefined, reason);
}

/**
 * No lone surrogates. Redis (and any UTF-8 store) writes one as U+FFFD, so two
 * different subjects would share one index and a deleteAll of one would miss
 * the other's tokens; a claim would not read back as it was signed.
 */
export function isWellFormedText(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasOwnNames(value: object): boolean {
  for (const name in value) if (Object.hasOwn(value, name)) return true;
  return false;
}

/**
 * Accepts exactly the values that survive a JSON round trip unchanged, and
 * stops as soon as the text seen so far exceeds the budget (a 10 MB string or
 * a sparse array of a billion slots is refused without walking it).
 */
function checkJson(value: unknown, path: 'claims' | 'context', depth: number, budget: { left: number }): void {
  if (depth > MAX_DEPTH) invalid(`${path} is nested more than ${MAX_DEPTH} levels deep`, path);
  if (--budget.left < 0) invalid(`${path} is too large`, path);
  switch (typeof value) {
    case 'string':
      budget.left -= value.length;
      if (budget.left < 0) invalid(`${path} is too large`, path);
      if (!isWellFormedText(value)) invalid(`${path} must be well-formed Unicode`, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(`${path} must be a finite number`, path);
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        if (value.length > budget.left) invalid(`${path} is too large`, path);
        for (let index = 0; index < value.length; index++) checkJson(value[index], path, depth + 1, budget);
        return;
      }
      if (!isPlainObject(value)) invalid(`${path} must be a plain object`, path);
      for (const [key, item] of Object.entries(value)) {
        budget.left -= key.length;
        if (!isWellFormedText(key)) invalid(`a name in ${path} must be well-formed Unicode`, path);
        if (item !== undefined) checkJson(item, path, depth + 1, budget);
      }
      return;
    default:
      invalid(`${path} must be JSON`, path);
  }
}

export function jsonObject(value: unknown, name: 'claims' | 'context', maxBytes: number): Record<string, unknown> {
  if (value === undefined) return {};
  try {
    if (!isPlainObject(value)) invalid(`${name} must be a plain object`, name);
    // No enumerable own names: its JSON is `{}` (the commonest claims and context; the manager and then the store check each one).
    if (!hasOwnNames(value)) return {};
    checkJson(value, name, 0, { left: maxBytes });
    const json = JSON.stringify(value);
    if (Buffer.byteLength(json, 'utf8') > maxBytes) invalid(`${name} must serialise to at most ${maxBytes} bytes of JSON`, name);
    const copy = JSON.parse(json) as Record<string, unknown>;
    // Checked again on the copy: a getter may answer differently the second time it is read.
    checkJson(copy, name, 0, { left: maxBytes });
    return copy;
  } catch (error) {
    // A proxy or a throwing getter: whatever it threw is the caller's bad input, not a crash.
    if (error instanceof SessionError) throw error;
    invalid(`${name} could not be read`, name);
  }
}

export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH || !isWellFormedText(subject)) {
    invalid(`subject must be a non-empty, well-formed string of at most ${MAX_SUBJECT_LENGTH} characters`, 'subject');
  }
  return subject;
}

/** A copy of the caller's claims, checked: JSON only, no reserved names. */
export function checkClaims(claims: unknown): Record<string, unknown> {
  const copy = jsonObject(claims, 'claims', MAX_CLAIMS_BYTES);
  for (const name of Object.keys(copy)) {
    if (RESERVED_CLAIMS.has(name)) invalid(`claims.${name} is a registered or library claim and cannot be set`, 'claims');
  }
  return copy;
}

export function checkContext(context: unknown): SessionContext {
  const copy = jsonObject(context, 'context', MAX_CONTEXT_BYTES);
  for (const name of ['ip', 'userAgent', 'device', 'location']) {
    if (copy[name] !== undefined && typeof copy[name] !== 'string') invalid(`context.${name} must be a string`, 'context');
  }
  return copy as SessionContext;
}

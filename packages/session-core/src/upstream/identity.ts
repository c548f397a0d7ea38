import { SessionError } from '../errors.js';
import { isWellFormedText } from '../lib/claims.js';
import type { UpstreamIdentity, UpstreamSelector } from './types.js';

export type { UpstreamIdentity, UpstreamSelector, UpstreamSessionRef } from './types.js';

/*
 * Where a session came from: the identity provider's session and user it was
 * opened for (the ID token's `iss`, `sub` and `sid`, OpenID Connect Core §2
 * and Front-/Back-Channel Logout §2.1). Stores keep it with the session and
 * find sessions by (issuer, sessionId) and by (issuer, subject), so a logout
 * that starts at the provider ends them. Checked once here, for the manager
 * and for every store, like store-input.ts: bounded strings, because they are
 * index keys.
 */

/** Longest issuer (a URL) accepted. */
export const MAX_UPSTREAM_ISSUER_LENGTH = 512;
/** Longest upstream `sub` or `sid` accepted (OIDC Core caps `sub` at 255 ASCII characters; providers' `sid`s are shorter). */
export const MAX_UPSTREAM_ID_LENGTH = 255;

function invalid(what: string): never {
  throw new SessionError('ERR_CLAIMS_INVALID', `${what} is invalid`, undefined, 'upstream');
}

function text(value: unknown, max: number, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !isWellFormedText(value)) invalid(what);
  return value;
}

function read(value: unknown, what: string): { issuer: unknown; subject: unknown; sessionId: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(what);
  try {
    const o = value as Record<string, unknown>;
    return { issuer: o.issuer, subject: o.subject, sessionId: o.sessionId };
  } catch {
    invalid(what);
  }
}

/** A checked copy of an upstream identity (undefined stays undefined). ERR_CLAIMS_INVALID, reason `upstream`. */
export function checkUpstream(value: unknown): UpstreamIdentity | undefined {
  if (value === undefined) return undefined;
  const raw = read(value, 'upstream');
  const out: UpstreamIdentity = {
    issuer: text(raw.issuer, MAX_UPSTREAM_ISSUER_LENGTH, 'upstream.issuer'),
    subject: text(raw.subject, MAX_UPSTREAM_ID_LENGTH, 'upstream.subject'),
  };
  if (raw.sessionId !== undefined) out.sessionId = text(raw.sessionId, MAX_UPSTREAM_ID_LENGTH, 'upstream.sessionId');
  return out;
}

/** A checked copy of a selector: `issuer` and exactly one of `sessionId`, `subject`. */
export function checkUpstreamSelector(value: unknown): UpstreamSelector {
  const raw = read(value, 'the upstream selector');
  const issuer = text(raw.issuer, MAX_UPSTREAM_ISSUER_LENGTH, 'issuer');
  if ((raw.sessionId === undefined) === (raw.subject === undefined)) invalid('the upstream selector (give sessionId or subject)');
  if (raw.sessionId !== undefined) return { issuer, sessionId: text(raw.sessionId, MAX_UPSTREAM_ID_LENGTH, 'sessionId') };
  return { issuer, subject: text(raw.subject, MAX_UPSTREAM_ID_LENGTH, 'subject') };
}

/** Whether a stored identity is one the selector names. */
export function matchesUpstream(upstream: UpstreamIdentity | undefined, selector: UpstreamSelector): boolean {
  if (upstream === undefined || upstream.issuer !== selector.issuer) return false;
  return selector.sessionId !== undefined ? upstream.sessionId === selector.sessionId : upstream.subject === selector.subject;
}

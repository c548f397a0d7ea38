import type { SESSION_INVALIDATED, SessionEvents } from '@jwt-session/session-core';
import { messageOf, type AuthErrorCode } from '../errors.js';

/** Server → client, then the socket is disconnected. */
export const SESSION_REVOKED_EVENT = 'session:revoked';
/** Server → client at the access token's `exp`, then the socket is disconnected. */
export const SESSION_EXPIRED_EVENT = 'session:expired';
/** Client → server with `{ token }` (or the token; `{ token, dpop }` for a DPoP-bound one) and an ack. */
export const SESSION_RENEW_EVENT = 'session:renew';

/**
 * Why a socket was revoked:
 * - `deleted`, `reused`, `evicted`: session-core's reasons for one session
 *   (`deleteOne`, a refresh token presented twice, `maxSessionsPerSubject`);
 * - `all`: every session of the subject was revoked at once (`deleteAll`,
 *   "sign out everywhere"), so a client can tell it from its own session being
 *   revoked;
 * - `unverified`: the guard's own re-check failed: a recovered socket whose
 *   token no longer passes or who came back as someone else, or a revocation
 *   seen in the cache but never announced.
 */
export type RevocationReason = SessionEvents[typeof SESSION_INVALIDATED]['reason'] | 'all' | 'unverified';

export interface SessionRevokedPayload {
  code: AuthErrorCode;
  reason: RevocationReason;
}
export interface SessionExpiredPayload {
  code: 'ERR_AUTH_TOKEN_EXPIRED';
  /** The `exp` that passed, Unix seconds. */
  expiresAt: number;
}
/** `dpopNonce`: on a DPoP refusal when nonces are on, the server's current nonce (retry with a proof carrying it). */
export type RenewResult = { ok: true; expiresAt: number } | { ok: false; code: AuthErrorCode; message: string; dpopNonce?: string };

/** The token of a `session:renew` payload: `{ token }` or the bare token. */
export function tokenOfRenewal(payload: unknown): string | undefined {
  if (typeof payload === 'string') return payload;
  if (payload !== null && typeof payload === 'object') {
    const token = (payload as { token?: unknown }).token;
    if (typeof token === 'string') return token;
  }
  return undefined;
}

/** A dropped event's ack still answers, so a client awaiting it does not hang until its timeout. */
export function answerDropped(packet: unknown[], code: AuthErrorCode): void {
  const ack = packet[packet.length - 1];
  if (typeof ack === 'function') (ack as (result: RenewResult) => void)({ ok: false, code, message: messageOf(code) });
}

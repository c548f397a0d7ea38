import type { SignedOutReason } from './types.js';

/**
 * Maps the guard's `session:revoked` reason: `all` is a subject-wide
 * revocation ("sign out everywhere" from another device), `reused` a refresh
 * token presented twice; `deleted`, `evicted`, `unverified` and anything
 * unknown (an adapter newer than this client) read as `revoked`. Adapters
 * before `all` existed sent `deleted` for both, which also reads as `revoked`.
 */
export function revokedReason(payload: unknown, ending: boolean): SignedOutReason {
  const reason = (payload as { reason?: unknown } | null)?.reason;
  if (ending) return 'signed-out';
  return reason === 'reused' ? 'reused' : reason === 'all' ? 'signed-out-elsewhere' : 'revoked';
}

import { ALL_SESSIONS_INVALIDATED, SESSION_CREATED, SESSION_INVALIDATED, type SessionEventName, type SessionEvents } from '../events.js';
import type { InvalidAccessTokenCache } from '../storage.js';
import type { Telemetry } from './telemetry.js';

/**
 * Counts what a manager or verifier announces (sessions created, evictions,
 * revocations by origin and reason, the propagation lag of remote ones), fed
 * from its `emit` so the operations carry no metric code and no listener is
 * added to the public emitter.
 */
export function countEvent<E extends SessionEventName>(telemetry: Telemetry, clock: () => number, event: E, payload: SessionEvents[E]): void {
  if (event === SESSION_CREATED) telemetry.sessionCreated();
  else if (event === SESSION_INVALIDATED) {
    const e = payload as SessionEvents[typeof SESSION_INVALIDATED];
    if (e.reason === 'evicted' && e.origin === 'local') telemetry.sessionEvicted();
    telemetry.revocation(e.origin, e.reason, e.origin === 'remote' ? clock() - e.at : undefined);
  } else if (event === ALL_SESSIONS_INVALIDATED) {
    const e = payload as SessionEvents[typeof ALL_SESSIONS_INVALIDATED];
    telemetry.revocation(e.origin, 'subject', e.origin === 'remote' ? clock() - e.at : undefined);
  }
}

/** The two cache-size gauges. */
export function cacheGauges(telemetry: Telemetry, caches: { verified: { readonly size: number }; invalidations: InvalidAccessTokenCache }): void {
  telemetry.gauge('jwt_session.verified_cache.size', 'verified access tokens held for fast repeated reads', () => caches.verified.size);
  // The cache interface has no size; the memory cache (and any that add one) report it.
  const sized = caches.invalidations as Partial<{ size: unknown }>;
  telemetry.gauge('jwt_session.invalidation_cache.size', 'revoked sessions and subjects this node remembers', () => (typeof sized.size === 'number' ? sized.size : undefined));
}

/** The refresh outcome of a failed update(), by its error code. */
export function refreshFailure(error: unknown): 'reused' | 'invalid' | 'expired' | 'error' {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'ERR_REFRESH_TOKEN_REUSED':
      return 'reused';
    case 'ERR_REFRESH_TOKEN_INVALID':
    // A bound session refreshed without its key: refused, the session intact.
    case 'ERR_DPOP_BINDING_MISMATCH':
      return 'invalid';
    case 'ERR_REFRESH_TOKEN_EXPIRED':
      return 'expired';
    default:
      return 'error';
  }
}

/** The read outcome of a failed verification. */
export function readFailure(error: unknown): 'expired' | 'invalid' {
  return (error as { code?: unknown } | null)?.code === 'ERR_AUTH_TOKEN_EXPIRED' ? 'expired' : 'invalid';
}

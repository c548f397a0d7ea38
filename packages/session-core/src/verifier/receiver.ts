import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, type SessionEvents } from '../events.js';
import type { InvalidAccessTokenCache, InvalidationReason, InvalidationReceiver } from '../storage.js';

const REASONS: ReadonlySet<unknown> = new Set<InvalidationReason>(['deleted', 'reused', 'evicted']);

function base(event: unknown): { subject: string; at: number; expiresAt: number } | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const e = event as Record<string, unknown>;
  if (typeof e.subject !== 'string' || e.subject.length === 0 || typeof e.at !== 'number' || !Number.isFinite(e.at)) return undefined;
  if (typeof e.expiresAt !== 'number' || !Number.isFinite(e.expiresAt)) return undefined;
  return { subject: e.subject, at: e.at, expiresAt: e.expiresAt };
}

/**
 * What a verifier does with other nodes' invalidations: the same as the
 * manager's receiving side (into the invalidation cache for as long as the
 * origin said, plus this node's tolerance past exp; then the same events with
 * origin `remote`). A verifier never revokes anything itself.
 */
export function remoteInvalidations(
  cache: InvalidAccessTokenCache,
  clock: () => number,
  clockTolerance: number,
  emit: <E extends typeof SESSION_INVALIDATED | typeof ALL_SESSIONS_INVALIDATED>(event: E, payload: SessionEvents[E]) => void,
): InvalidationReceiver {
  const ttlOf = (expiresAt: number) => expiresAt - clock() + clockTolerance * 1000;
  return {
    restrictOne(event) {
      const e = base(event);
      if (e === undefined || typeof event.sessionId !== 'string' || event.sessionId.length === 0 || !REASONS.has(event.reason)) return;
      const ttl = ttlOf(e.expiresAt);
      if (ttl > 0) cache.invalidateSession(event.sessionId, ttl);
      emit(SESSION_INVALIDATED, { subject: e.subject, sessionId: event.sessionId, reason: event.reason, at: e.at, origin: 'remote' });
    },
    restrictAll(event) {
      const e = base(event);
      if (e === undefined) return;
      const ttl = ttlOf(e.expiresAt);
      if (ttl > 0) cache.invalidateSubject(e.subject, e.at, ttl);
      emit(ALL_SESSIONS_INVALIDATED, { subject: e.subject, at: e.at, origin: 'remote' });
    },
  };
}

import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, type EventOrigin, type SessionEvents } from '../events.js';
import type { InvalidAccessTokenCache, InvalidationEvent, InvalidationReceiver } from '../storage.js';
import { parseInvalidationEvent } from './event.js';

export type InvalidationEmit = <E extends typeof SESSION_INVALIDATED | typeof ALL_SESSIONS_INVALIDATED>(event: E, payload: SessionEvents[E]) => void;

/** Writes an event into this node's cache for `ttl` ms (nothing when it has run out). May throw: the cache is the caller's. */
export function applyToCache(cache: InvalidAccessTokenCache, event: InvalidationEvent, ttl: number): void {
  if (!(ttl > 0)) return;
  if (event.type === 'session') {
    cache.invalidateSession(event.sessionId, ttl);
    return;
  }
  for (const id of event.sessionIds ?? []) cache.invalidateSession(id, ttl);
  cache.invalidateSubject(event.subject, event.at, ttl);
}

/** The event a manager or verifier announces for an invalidation it applied. */
export function announce(emit: InvalidationEmit, event: InvalidationEvent, origin: EventOrigin): void {
  if (event.type === 'session') emit(SESSION_INVALIDATED, { subject: event.subject, sessionId: event.sessionId, reason: event.reason, at: event.at, origin });
  else emit(ALL_SESSIONS_INVALIDATED, { subject: event.subject, at: event.at, origin, ...(event.sessionIds ? { sessionIds: [...event.sessionIds] } : {}) });
}

/**
 * The receiving side, shared by the manager and the verifier: each event is
 * checked once (`parseInvalidationEvent`; anything else is ignored), kept in
 * this node's cache for as long as the origin said plus this node's tolerance
 * past exp, then announced with origin `remote`. Never throws.
 *
 * `minimumLifetime` (ms, a verifier's maxTokenLifetime) keeps each entry at
 * least that long past the event's moment, whatever its `expiresAt` says: the
 * tokens it revokes were issued at or before that moment and live no longer
 * than that, so none outlives the entry (a publisher that knows a shorter
 * token lifetime than the provider's would otherwise let them come back).
 */
export function remoteInvalidations(
  cache: InvalidAccessTokenCache,
  clock: () => number,
  clockTolerance: number,
  emit: InvalidationEmit,
  isOpen: () => boolean = () => true,
  minimumLifetime = 0,
): InvalidationReceiver {
  const receive = (raw: unknown): void => {
    const event = parseInvalidationEvent(raw);
    if (event === undefined || !isOpen()) return;
    const until = minimumLifetime > 0 ? Math.max(event.expiresAt, event.at + minimumLifetime) : event.expiresAt;
    try {
      applyToCache(cache, event, until - clock() + clockTolerance * 1000);
    } catch {
      // A cache that throws on one event must not stop the events behind it; the sockets are still told.
    }
    announce(emit, event, 'remote');
  };
  return { restrictOne: receive, restrictAll: receive };
}

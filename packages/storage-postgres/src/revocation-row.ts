import { parseInvalidationEvent, type InvalidationEvent } from '@jwt-session/session-core';
import { fromStored, toStored } from './text.js';

/*
 * An invalidation as a row of the revocations table, and back. Rows and
 * notifications come from a table and a channel any client with access can
 * write to: what they hold is checked with session-core's
 * `parseInvalidationEvent` (the check every broadcaster applies), and
 * anything that fails it is skipped, never thrown on.
 */

/** The publish statement's $1..$8 for an event (see sql.ts). */
export function rowValues(origin: string, event: InvalidationEvent): unknown[] {
  return event.type === 'session'
    ? [origin, 'session', toStored(event.subject), event.sessionId, event.reason, event.at, event.expiresAt, null]
    : [origin, 'subject', toStored(event.subject), null, null, event.at, event.expiresAt, event.sessionIds ?? null];
}

/** A row as the catch-up and by-id statements return it. */
export interface RevocationRow {
  id: string;
  origin: string;
  kind: string;
  subject: string;
  session_id: string | null;
  reason: string | null;
  at: number;
  expires_at: number;
  session_ids: string[] | null;
}

export function eventOfRow(row: RevocationRow): InvalidationEvent | undefined {
  const subject = fromStored(row.subject);
  return parseInvalidationEvent(
    row.kind === 'session'
      ? { type: 'session', subject, sessionId: row.session_id, reason: row.reason, at: row.at, expiresAt: row.expires_at }
      : { type: 'subject', subject, at: row.at, expiresAt: row.expires_at, ...(row.session_ids === null ? {} : { sessionIds: row.session_ids }) },
  );
}

/** A notification's payload: `<id> <origin> <event JSON>`, or `<id>` alone when the event did not fit. */
export function parseNotification(payload: string): { id: string; origin?: string; event?: InvalidationEvent } | undefined {
  const first = payload.indexOf(' ');
  const id = first < 0 ? payload : payload.slice(0, first);
  if (!/^\d{1,19}$/.test(id)) return undefined;
  if (first < 0) return { id };
  const second = payload.indexOf(' ', first + 1);
  if (second < 0) return undefined;
  try {
    const event = parseInvalidationEvent(JSON.parse(payload.slice(second + 1)));
    return event === undefined ? undefined : { id, origin: payload.slice(first + 1, second), event };
  } catch {
    return undefined;
  }
}

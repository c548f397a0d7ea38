import { parseInvalidationEvent, type InvalidationEvent } from '@jwt-session/session-core';

/*
 * Entries come from a shared stream that any client with write access can
 * append to. The field rules are session-core's (`parseInvalidationEvent`, the
 * same check every broadcaster uses); this only decodes the JSON. Anything
 * else is skipped, never thrown on: one bad entry must not stop the events
 * behind it.
 */
export function parseEvent(payload: string): InvalidationEvent | undefined {
  try {
    return parseInvalidationEvent(JSON.parse(payload));
  } catch {
    return undefined;
  }
}

import type { InvalidationEvent, InvalidationReason } from '@jwt-session/session-core';

/*
 * Entries come from a shared stream that any client with write access can
 * append to, so each one is checked field by field before it reaches the
 * manager; anything else is skipped, never thrown on (one bad entry must not
 * stop the events behind it). Only the known fields are passed on.
 */
const REASONS: ReadonlySet<unknown> = new Set<InvalidationReason>(['deleted', 'reused', 'evicted']);

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

export function parseEvent(payload: string): InvalidationEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  const e = raw as Record<string, unknown>;
  if (!isText(e.subject) || !isTime(e.at) || !isTime(e.expiresAt)) return undefined;
  if (e.type === 'subject') return { type: 'subject', subject: e.subject, at: e.at, expiresAt: e.expiresAt };
  if (e.type === 'session' && isText(e.sessionId) && REASONS.has(e.reason)) {
    return { type: 'session', subject: e.subject, sessionId: e.sessionId, reason: e.reason as InvalidationReason, at: e.at, expiresAt: e.expiresAt };
  }
  return undefined;
}

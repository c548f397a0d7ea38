import { SessionError, sessionHashTag, subjectHashTag } from '@jwt-session/session-core';

/*
 * Every key of one subject carries the subject's 4-character hash tag, and a
 * session id starts with that same tag, so a session key built from the id
 * alone (all `update()` has) lands in the same Cluster slot as the subject's
 * index: every script touches one slot. Subjects are arbitrary strings, so the
 * index key carries them hex-encoded: unambiguous, printable, reversible, and
 * cheap to compute inside Lua as well.
 */
export const DEFAULT_KEY_PREFIX = 'jwt-session:';

export interface KeyLayout {
  readonly prefix: string;
  /** `<prefix>{<tag>}:s:<sessionId>`: hash with the session record. */
  session(sessionId: string): string;
  /** `<prefix>{<tag>}:u:<hex(subject)>`: sorted set of session ids scored by deadline. */
  index(subject: string): string;
  /** `<prefix>{invalidations}`: the invalidation stream, on a slot of its own. */
  readonly stream: string;
  /**
   * What a key found by SCAN under `prefix` is in this layout (undefined: not
   * one of the library's keys), so operator tools count keys without
   * repeating the layout.
   */
  kindOf(key: string): KeyKind | undefined;
}

/**
 * `receipt` is `<prefix>{<tag>}:x:<sessionId>`: what an evicting insert left
 * for `settleInsert` (or settle's no-op mark); it expires on its own.
 */
export type KeyKind = 'session' | 'index' | 'stream' | 'receipt';

const KEY_SHAPE = /^\{[^{}]+\}:([sux]):./s;
const KINDS = { s: 'session', u: 'index', x: 'receipt' } as const;

export function hexOf(subject: string): string {
  return Buffer.from(subject, 'utf8').toString('hex');
}

export function keyLayout(prefix: string | undefined): KeyLayout {
  const p = prefix ?? DEFAULT_KEY_PREFIX;
  // A brace in the prefix would become the Cluster hash tag and pin every key to one slot (or split a subject across slots).
  if (typeof p !== 'string' || /[{}]/.test(p)) throw new SessionError('ERR_CONFIG_INVALID', 'options.keyPrefix must be a string without { or }');
  return {
    prefix: p,
    session: (sessionId) => `${p}{${sessionHashTag(sessionId)}}:s:${sessionId}`,
    index: (subject) => `${p}{${subjectHashTag(subject)}}:u:${hexOf(subject)}`,
    stream: `${p}{invalidations}`,
    kindOf: (key) => {
      if (!key.startsWith(p)) return undefined;
      if (key === `${p}{invalidations}`) return 'stream';
      const m = KEY_SHAPE.exec(key.slice(p.length));
      return m === null ? undefined : KINDS[m[1] as keyof typeof KINDS];
    },
  };
}

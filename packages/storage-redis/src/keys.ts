import { createHash } from 'node:crypto';
import { SUBJECT_DIGEST_LENGTH, SessionError, sessionSubjectDigest, subjectDigest, type UpstreamSelector } from '@jwt-session/session-core';

/*
 * One key per subject holds all of its sessions: `<prefix>{abcd}:s:efghijk`,
 * named by the subject's 11-character digest (`abcd` its Cluster hash tag,
 * `efghijk` the rest), which every session id starts with, so `update()`
 * finds it from the refresh token alone and every script touches one key on
 * one slot. Why not a key per session plus a per-subject index: at one
 * session per subject, Redis' own bookkeeping for a second key (dictionary
 * and expiry entries, key name, object header) cost more than the session's
 * data (554 B per session, against ~310 B now).
 *
 * Two subjects may share a digest (it is a public hash, not a secret): every
 * record names its subject, and every script keeps subjects apart by it.
 */
export const DEFAULT_KEY_PREFIX = 'jwt-session:';
const TAG_LENGTH = 4;

export interface KeyLayout {
  readonly prefix: string;
  /** The key holding `subject`'s sessions (a string: MessagePack, see scripts.ts). */
  subject(subject: string): string;
  /** `<prefix>{abcd}:d:efghijk`: the subject's device history (a sorted set), on its sessions key's slot. */
  devices(subject: string): string;
  /** The key holding the session `sessionId` (its subject's key). */
  session(sessionId: string): string;
  /** `<prefix>{invalidations}`: the invalidation stream, on a slot of its own. */
  readonly stream: string;
  /**
   * `<prefix>dpop:<replayKey>`: one accepted DPoP proof (the 43-character
   * hash `dpopReplayKey` makes of its key's thumbprint and `jti`, never the
   * raw `jti`); each on its own slot, expiring on its own.
   */
  dpopProof(replayKey: string): string;
  /**
   * `<prefix>{abcd}:u:efghijk`: the upstream identities of the subject's
   * sessions that have one (a hash: session id → identity), beside the
   * subject's key on its slot (upstream-scripts.ts).
   */
  upstream(sessionId: string): string;
  /**
   * `<prefix>upstream:{<hash>}`: the sessions linked to one provider session
   * (issuer, sid) or user (issuer, sub), a sorted set of session ids scored
   * by their expiry; each on its own slot, named by a SHA-256 of the pair.
   */
  upstreamIndex(selector: UpstreamSelector): string;
  /**
   * What a key found by SCAN under `prefix` is in this layout (undefined: not
   * one of the library's keys), so operator tools count keys without
   * repeating the layout.
   */
  kindOf(key: string): KeyKind | undefined;
}

/**
 * `sessions` is a subject's key; `receipt` is `<prefix>{<tag>}:x:<sessionId>`:
 * what an evicting insert left for `settleInsert` (or settle's no-op mark); it
 * expires on its own; `dpop` is a DPoP proof the replay cache remembers;
 * `devices` is a subject's device history (`<prefix>{<tag>}:d:<rest>`); `upstream` a subject's sessions'
 * upstream identities and `upstream-index` one provider session's or user's sessions (issue 26).
 */
export type KeyKind = 'sessions' | 'stream' | 'receipt' | 'dpop' | 'devices' | 'upstream' | 'upstream-index';

const REST = SUBJECT_DIGEST_LENGTH - TAG_LENGTH;
/** Length of the `s:<rest>` that ends a subject key (scripts strip it to build a receipt key). */
export const SUBJECT_KEY_TAIL_LENGTH = 2 + REST;
const DPOP_KEY_SHAPE = /^dpop:[A-Za-z0-9_-]{43}$/;
const KEY_SHAPE = new RegExp(`^\\{[A-Za-z0-9_-]{${TAG_LENGTH}}\\}:(?:[sdu]:[A-Za-z0-9_-]{${REST}}|x:[A-Za-z0-9_-]{26})$`);
const UPSTREAM_INDEX_SHAPE = /^upstream:\{[A-Za-z0-9_-]{43}\}$/;

/** The index's name for a selector: the kind and both values, each length-prefixed, so no two selectors share one. */
function upstreamHash(selector: UpstreamSelector): string {
  const [kind, value] = selector.sessionId !== undefined ? ['sid', selector.sessionId] : ['sub', selector.subject];
  return createHash('sha256').update(`${kind}:${selector.issuer.length}:${selector.issuer}:${value}`).digest('base64url');
}

function keyOfDigest(prefix: string, digest: string, kind: 's' | 'd' = 's'): string {
  return `${prefix}{${digest.slice(0, TAG_LENGTH)}}:${kind}:${digest.slice(TAG_LENGTH)}`;
}

export function keyLayout(prefix: string | undefined): KeyLayout {
  const p = prefix ?? DEFAULT_KEY_PREFIX;
  // A brace in the prefix would become the Cluster hash tag and pin every key to one slot (or split a subject across slots).
  if (typeof p !== 'string' || /[{}]/.test(p)) throw new SessionError('ERR_CONFIG_INVALID', 'options.keyPrefix must be a string without { or }', undefined, 'option');
  return {
    prefix: p,
    subject: (subject) => keyOfDigest(p, subjectDigest(subject)),
    devices: (subject) => keyOfDigest(p, subjectDigest(subject), 'd'),
    session: (sessionId) => keyOfDigest(p, sessionSubjectDigest(sessionId)),
    stream: `${p}{invalidations}`,
    dpopProof: (replayKey) => `${p}dpop:${replayKey}`,
    upstream: (sessionId) => {
      const digest = sessionSubjectDigest(sessionId);
      return `${p}{${digest.slice(0, TAG_LENGTH)}}:u:${digest.slice(TAG_LENGTH)}`;
    },
    upstreamIndex: (selector) => `${p}upstream:{${upstreamHash(selector)}}`,
    kindOf: (key) => {
      if (!key.startsWith(p)) return undefined;
      if (key === `${p}{invalidations}`) return 'stream';
      const rest = key.slice(p.length);
      if (DPOP_KEY_SHAPE.test(rest)) return 'dpop';
      if (UPSTREAM_INDEX_SHAPE.test(rest)) return 'upstream-index';
      if (!KEY_SHAPE.test(rest)) return undefined;
      const letter = rest[TAG_LENGTH + 3];
      return letter === 's' ? 'sessions' : letter === 'd' ? 'devices' : letter === 'u' ? 'upstream' : 'receipt';
    },
  };
}

import type { SessionContext } from './types.js';
import type { UpstreamIdentity, UpstreamSelector, UpstreamSessionRef } from './upstream/types.js';

/*
 * The three seams a deployment fills: where sessions live (RefreshTokenStore),
 * what each node remembers about revoked access tokens (InvalidAccessTokenCache)
 * and how nodes tell each other (InvalidationBroadcaster). Times here are
 * milliseconds since the epoch, as the manager's clock gives them; stores use
 * the `now` they are handed, never their own clock, so every decision is made
 * on one clock and tests can freeze it.
 */

/** A session as a store keeps it. `tokenHash` is a hash of the current refresh secret, never the secret. */
export interface SessionRecord {
  sessionId: string;
  subject: string;
  tokenHash: string;
  /** Hash of the refresh secret this one replaced; absent before the first rotation. */
  previousTokenHash?: string | undefined;
  /** Rotations so far; 0 at creation. */
  generation: number;
  createdAt: number;
  lastRefreshedAt: number;
  /** When `tokenHash` was set (creation or last rotation). */
  rotatedAt: number;
  /** Absolute end of the session; rotation never moves it. */
  expiresAt: number;
  /** Sliding end of the session; absent when idle expiry is off. Never after `expiresAt`. */
  idleExpiresAt?: number | undefined;
  claims: Record<string, unknown>;
  context: SessionContext;
  /**
   * The identity provider's session and user this session was opened for
   * (`create({ upstream })`); absent for sessions opened otherwise. Kept
   * unchanged for the session's life. A store that keeps it implements
   * {@link RefreshTokenStore.findUpstream}.
   */
  upstream?: UpstreamIdentity | undefined;
}

export type NewSessionRecord = Omit<SessionRecord, 'previousTokenHash' | 'generation' | 'lastRefreshedAt' | 'rotatedAt'>;

/** A session without its hashes: what `list` returns. */
export type StoredSessionInfo = Omit<SessionRecord, 'tokenHash' | 'previousTokenHash'>;

export interface InsertOptions {
  now: number;
  /** When the subject already has this many live sessions, the oldest are evicted in the same atomic step. */
  maxSessionsPerSubject?: number | undefined;
  /**
   * ms the store remembers which sessions this insert evicted, for
   * `settleInsert`; also how long `settleInsert`'s mark against a late insert
   * lasts. The manager passes the access-token lifetime plus tolerance: past
   * it, an evicted session's access tokens have expired anyway. @default 3600000
   */
  receiptTtl?: number | undefined;
}

export interface DeleteAllResult {
  /** Ids of the live sessions deleted. */
  sessionIds: string[];
  /** ms on the store's own clock (Redis: TIME) when the deletion ran: one clock for every node's "issued before". */
  at: number;
}

export interface InsertResult {
  /** Ids of the sessions evicted to make room (oldest first). */
  evicted: string[];
}

/** How long a store keeps an insert's receipt when the caller does not say. */
export const DEFAULT_RECEIPT_TTL = 3_600_000;

export interface RotateRequest {
  sessionId: string;
  /** Hash of the refresh secret the client presented. */
  presentedHash: string;
  /** Hash of the successor secret the manager derived from the presented one. */
  successorHash: string;
  now: number;
  /** How long after a rotation the previous secret is still answered (grace), in ms; 0 = never. */
  reuseInterval: number;
  /** Sliding lifetime in ms; the idle deadline becomes min(now + idleTtl, expiresAt). */
  idleTtl?: number | undefined;
  /** Replaces the stored claims when given. */
  claims?: Record<string, unknown> | undefined;
  /** Merged key by key into the stored context when given. */
  context?: SessionContext | undefined;
  /**
   * Whether the previous hash presented after `reuseInterval` deletes the
   * session (`reused`, `revoked: true`). `false` when the manager's
   * `refreshTokenReusePolicy.previous` is `'refuse'`: the store answers
   * `reused` with `revoked: false` and leaves the session as it was. A store
   * that ignores it deletes (the safe side); the manager then revokes the
   * access tokens too. @default true
   */
  revokePrevious?: boolean | undefined;
}

/**
 * - `rotated`: the presented hash was current; the successor is now current.
 * - `grace`: the presented hash was the previous one, within `reuseInterval`, and
 *   the successor is the current one; nothing changed.
 * - `reused`: the presented hash was the previous one after the interval: the
 *   store deleted the session in the same atomic step (`revoked` absent or
 *   true), or, with `revokePrevious: false`, left it (`revoked: false`).
 * - `mismatch`: neither; the session is untouched. The token's MAC already
 *   proved the manager issued it, so it is an older one (or one past the
 *   store's chain): reuse. `tokenHash` and `generation` are the current ones:
 *   the manager walks the successors of the presented secret towards the
 *   current hash to tell an ancestor from a branch (a hash of a 256-bit secret
 *   reveals nothing of it). Optional: without them a mismatch counts as an
 *   ancestor.
 * - `expired`: past its deadline; the store deleted it. `idle: true` when the
 *   deadline that passed was the idle one (`idleExpiresAt` before `expiresAt`):
 *   the manager then reports the reason `idle_timeout` instead of `expired`.
 * - `not_found`: no such session.
 */
export type RotateResult =
  | { status: 'rotated' | 'grace'; session: StoredSessionInfo }
  | { status: 'reused'; subject: string; revoked?: boolean }
  | { status: 'mismatch'; subject: string; tokenHash?: string; generation?: number }
  | { status: 'expired'; idle?: boolean }
  | { status: 'not_found' };

/**
 * Where sessions live. Every method is one atomic step: no caller ever sees
 * half of an insert, a rotation or a deletion. Implementations throw
 * (any error) when the backend cannot answer; the manager reports that as
 * ERR_STORAGE_UNAVAILABLE.
 */
export interface RefreshTokenStore {
  insert(session: NewSessionRecord, options: InsertOptions): Promise<InsertResult>;
  /**
   * For an insert whose outcome the caller never learnt (it timed out): once
   * this resolves, that insert has either run — then the session it created
   * is removed (its creator never got its tokens) and the ids it evicted are
   * returned — or it will never run (a mark makes it a no-op for `receiptTtl`
   * ms) and the answer is []. Idempotent: asking again gives the same ids.
   */
  settleInsert(subject: string, sessionId: string, options: { now: number; receiptTtl?: number | undefined }): Promise<string[]>;
  rotate(request: RotateRequest): Promise<RotateResult>;
  /** The subject's live sessions, newest first. */
  list(subject: string, now: number): Promise<StoredSessionInfo[]>;
  /** Deletes the session if it is the subject's; true when something was deleted. */
  delete(subject: string, sessionId: string, now: number): Promise<boolean>;
  /** Deletes every session of the subject; returns the ids of the live ones deleted and the store's time. */
  deleteAll(subject: string, now: number): Promise<DeleteAllResult>;
  /**
   * Optional capability (the manager's `deviceHistory` needs it): records
   * `fingerprint` (a keyed hash, 22 base64url characters) as seen now in the
   * subject's device history and says what the history knew of it: `known`,
   * `new`, or `first` (the subject had no history). One atomic step. The
   * history keeps the `max` most recently seen fingerprints, each for `ttl` ms
   * after it was last seen; it is the subject's, and `deleteAll` leaves it
   * (signing out everywhere does not make the devices new).
   */
  rememberDevice?(subject: string, fingerprint: string, options: { now: number; ttl: number; max: number }): Promise<DeviceHistoryResult>;
  /**
   * Optional (a store without it cannot open sessions with `upstream`): the
   * live sessions opened for the upstream session (issuer, sessionId) or the
   * upstream user (issuer, subject), found through an index, never a scan.
   * Bounded: the index holds no more than the sessions, and its entries end
   * with them. A store may keep an entry a little longer than its session
   * (it then matches nothing, as the session is gone), never shorter.
   */
  findUpstream?(selector: UpstreamSelector, now: number): Promise<UpstreamSessionRef[]>;
  close?(): Promise<void>;
}

export type DeviceHistoryResult = 'known' | 'new' | 'first';

/**
 * What one node knows about revoked access tokens. Reads are synchronous and
 * local: they sit on the hot path of every `read()`. Entries expire after `ttl`
 * ms, when every token they could reject has expired anyway.
 */
export interface InvalidAccessTokenCache {
  invalidateSession(sessionId: string, ttl: number): void;
  /** Every token of the subject issued at or before `at` (ms) is invalid. A later `at` wins; the longer ttl wins. */
  invalidateSubject(subject: string, at: number, ttl: number): void;
  isSessionInvalidated(sessionId: string): boolean;
  /** The `at` of the subject's invalidation, or undefined. */
  subjectInvalidatedAt(subject: string): number | undefined;
  /**
   * Optional: a number that changes whenever an invalidation is recorded
   * (not when one expires). With it, a `read()` served from the verified-token
   * cache skips the two lookups when nothing was recorded since that token
   * last passed them: the hit then touches neither `sid` nor `sub`, which at
   * 100,000 cached tokens are cache misses. Without it, every hit looks up.
   */
  readonly version?: number;
  close?(): void | Promise<void>;
}

export type InvalidationReason = 'deleted' | 'reused' | 'evicted';

/** One session's access tokens are invalid. `at` and `expiresAt` are ms on the origin's clock. */
export interface SessionInvalidation {
  type: 'session';
  subject: string;
  sessionId: string;
  reason: InvalidationReason;
  at: number;
  /** When the last access token this invalidates expires; the entry may be forgotten after that. */
  expiresAt: number;
}

/** Every access token of the subject issued at or before `at` is invalid, and every token of the sessions listed. */
export interface SubjectInvalidation {
  type: 'subject';
  subject: string;
  at: number;
  expiresAt: number;
  /** The sessions the deletion found: invalid whatever their tokens' issue time (a node whose clock runs ahead). */
  sessionIds?: string[] | undefined;
}

export type InvalidationEvent = SessionInvalidation | SubjectInvalidation;

/**
 * What a broadcaster hands other nodes' events to: the manager's revocation
 * module (not the manager itself). Implementations check every event with
 * `parseInvalidationEvent` and ignore what fails it.
 */
export interface InvalidationReceiver {
  restrictOne(event: SessionInvalidation): void;
  restrictAll(event: SubjectInvalidation): void;
}

/** One receiver's connection to the broadcaster. */
export interface InvalidationSubscription {
  /** Sends an event to every other subscriber; rejects when it could not be sent. */
  publish(event: InvalidationEvent): Promise<void>;
  /** Resolves once recent events from before the subscription have been delivered. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** One entry of a broadcaster's log, as `entriesAfter` reads it. */
export interface RevocationLogEntry {
  /** The entry's position in the log: opaque, ordered by the broadcaster, ASCII letters, digits and `-._~` only. */
  id: string;
  event: InvalidationEvent;
}

/** A page of a broadcaster's log. */
export interface RevocationLogPage {
  /** Oldest first; only events still in force (`expiresAt` after now) and well-formed. */
  entries: RevocationLogEntry[];
  /**
   * Where the next read starts (its `after`): the id of the last entry read,
   * also when that entry was skipped (expired, malformed), so a run of skipped
   * entries is not read again; `after` itself when nothing was read; the
   * log's start when `after` was undefined and nothing was read.
   */
  cursor: string;
  /** More entries may follow `cursor`: read again at once rather than after a pause. */
  more: boolean;
}

/**
 * Carries invalidations between nodes. A subscriber never receives its own
 * events back, and receives every other subscriber's, including ones sent
 * while it was briefly disconnected.
 */
export interface InvalidationBroadcaster {
  subscribe(receiver: InvalidationReceiver): InvalidationSubscription;
  /**
   * Optional: reads the log itself, for a node that cannot subscribe (a
   * Worker polling `GET {base}/revocations` of `@jwt-session/http`). At most
   * `limit` entries after the cursor `after` (undefined: from the oldest kept),
   * every node's events alike, in the order every subscriber receives them. An
   * entry is never placed before one already read: a reader that resumes from
   * its cursor misses nothing still in force. A cursor of another log of the
   * same kind (a restarted memory broadcaster's) reads from the start. Rejects
   * with ERR_CLAIMS_INVALID (reason `input`) for an `after` that is not one of
   * its cursors or a `limit` that is not an integer from 1 to 1000, with
   * ERR_STORAGE_UNAVAILABLE when the backend cannot answer.
   */
  entriesAfter?(after: string | undefined, limit: number): Promise<RevocationLogPage>;
}

import { SessionError, storageError, type SessionErrorReason } from './errors.js';
import { hashSecret, successorSecret } from './lib/refresh-token.js';
import type { ParsedRefreshToken } from './lib/refresh-token.js';
import type { RefreshTokenStore, RotateResult } from './storage.js';

/*
 * Reuse told apart. A refresh token whose mac is ours but that the store no
 * longer holds as current is one we issued and rotated out. Three cases, which
 * an operator reads very differently:
 * - `previous`: the token the current one replaced, presented after
 *   `refreshTokenReuseInterval`. Nearly always a lost response or a slow tab
 *   (the client never saw its successor), rarely a thief who raced the owner.
 * - `ancestor`: an older token of the chain (two or more rotations back). A
 *   client keeps only its latest token, so this is a copy: a stolen cookie, a
 *   restored backup of a device, a log that held a token.
 * - `branch`: a token of this session that is not behind the current one: the
 *   store lost rotations it had answered (a Redis failover to a replica that
 *   had not received them, a database restored from a backup), so the client
 *   holds a token from past the store's chain.
 *
 * Successors are derived (successorSecret), so the chain is one line: walking
 * from the presented secret reaches the current hash after exactly as many
 * steps as the token is rotations old. The store reports the current hash and
 * the generation on a mismatch; the walk stops there, and at MAX_WALK steps
 * (~0.6 µs each) so a very old token costs at most ~0.6 ms. A store that does
 * not report them (a third-party store written before this) gets `ancestor`:
 * the kind that revokes under the default and under any sensible policy.
 */
export type ReuseKind = 'previous' | 'ancestor' | 'branch';

/** What a reuse of each kind does: `revoke` ends the session (its refresh token and, on every node, its access tokens); `refuse` only refuses this token. */
export type ReuseAction = 'revoke' | 'refuse';

/** The `refreshTokenReused` event. */
export interface ReuseEvent {
  subject: string;
  sessionId: string;
  kind: ReuseKind;
  /** Whether the session was ended (`refreshTokenReusePolicy`). */
  revoked: boolean;
}

/** The store's answers that mean reuse. */
export type ReuseResult = Extract<RotateResult, { status: 'reused' | 'mismatch' }>;

export type ReusePolicy = Readonly<Record<ReuseKind, ReuseAction>>;

/** The reason of ERR_REFRESH_TOKEN_REUSED for each kind. */
export const REUSE_REASONS = { previous: 'reused_previous', ancestor: 'reused_ancestor', branch: 'reused_branch' } as const satisfies Record<ReuseKind, SessionErrorReason>;

function fail(name: string, message: string): never {
  throw new SessionError('ERR_CONFIG_INVALID', `options.${name} ${message}`, undefined, 'option');
}

/** Walk bound: rotations looked back from the presented token. */
export const MAX_WALK = 1024;

export const DEFAULT_REUSE_POLICY: ReusePolicy = Object.freeze({ previous: 'revoke', ancestor: 'revoke', branch: 'revoke' });

const KINDS: readonly ReuseKind[] = ['previous', 'ancestor', 'branch'];

/** Checks `refreshTokenReusePolicy`: each kind named maps to 'revoke' or 'refuse'; missing kinds revoke. */
export function normalizeReusePolicy(value: unknown): ReusePolicy {
  if (value === undefined) return DEFAULT_REUSE_POLICY;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('refreshTokenReusePolicy', "must be an object like { previous: 'refuse' }");
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KINDS.includes(key as ReuseKind)) fail('refreshTokenReusePolicy', `has an unknown kind "${key.slice(0, 20).replace(/[^\w-]/g, '?')}" (previous, ancestor, branch)`);
  }
  const policy = { ...DEFAULT_REUSE_POLICY };
  for (const kind of KINDS) {
    const action = input[kind];
    if (action === undefined) continue;
    if (action !== 'revoke' && action !== 'refuse') fail(`refreshTokenReusePolicy.${kind}`, "must be 'revoke' or 'refuse'");
    policy[kind] = action;
  }
  return Object.freeze(policy);
}

/**
 * The kind of a token that is neither current nor the store's previous: its
 * distance to the current hash along the chain of successors. 1 step: the
 * previous token (possible when the store answered a mismatch for it, as
 * when its grace successor did not match); 2 or more: an ancestor; never
 * reached within the generation (or the walk bound): a branch.
 */
export function mismatchKind(sessionId: string, secret: string, current: { tokenHash?: string | undefined; generation?: number | undefined }): ReuseKind {
  const { tokenHash, generation } = current;
  if (typeof tokenHash !== 'string' || typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) return 'ancestor';
  const steps = Math.min(generation, MAX_WALK);
  let s = secret;
  for (let step = 1; step <= steps; step++) {
    s = successorSecret(sessionId, s);
    if (hashSecret(s) === tokenHash) return step === 1 ? 'previous' : 'ancestor';
  }
  // Past the walk bound the chain may go on: an old token, not provably a branch.
  return generation > MAX_WALK ? 'ancestor' : 'branch';
}

/**
 * ERR_REFRESH_TOKEN_REUSED, saying which kind and whether the session was
 * ended: an adapter keeps the client's refresh cookie when it was not (the
 * browser may already hold the current token, set by another tab). A
 * SessionError like any other (`instanceof`, `isSessionError`, code, fixed
 * message, reason `reused_<kind>`).
 */
export class RefreshTokenReusedError extends SessionError {
  readonly kind: ReuseKind;
  readonly revoked: boolean;

  constructor(kind: ReuseKind, revoked: boolean) {
    super('ERR_REFRESH_TOKEN_REUSED', undefined, undefined, REUSE_REASONS[kind]);
    this.kind = kind;
    this.revoked = revoked;
  }
}

/** What handling a reuse needs of the manager. */
export interface ReuseHandler {
  policy: ReusePolicy;
  store: RefreshTokenStore;
  emit: (event: ReuseEvent) => void;
  /** Every node refuses the session's access tokens; never rejects (a failed broadcast is retried in the background). */
  revoke: (subject: string, sessionId: string, now: number) => Promise<void>;
}

/**
 * A rotated-out token: its kind, then per the policy either the session ends
 * (the store, then every node's access tokens) or this token alone is
 * refused. Returns the error update() throws: the store's failure when the
 * delete failed (the access tokens are revoked all the same: fail safe), else
 * ERR_REFRESH_TOKEN_REUSED.
 */
export async function handleReuse(handler: ReuseHandler, result: ReuseResult, { sessionId, secret }: ParsedRefreshToken, now: number): Promise<SessionError> {
  const { subject } = result;
  const kind = result.status === 'reused' ? 'previous' : mismatchKind(sessionId, secret, result);
  // A `reused` answer deleted the session unless it says otherwise (a store that ignores revokePrevious: false deletes).
  const revoked = result.status === 'reused' ? result.revoked !== false : handler.policy[kind] === 'revoke';
  let failure: SessionError | undefined;
  if (revoked && result.status === 'mismatch') {
    try {
      await handler.store.delete(subject, sessionId, now);
    } catch (error) {
      failure = storageError('update (revoking a reused session)', error);
    }
  }
  handler.emit({ subject, sessionId, kind, revoked });
  if (revoked) await handler.revoke(subject, sessionId, now);
  return failure ?? new RefreshTokenReusedError(kind, revoked);
}

import { SessionError, storageError } from '../errors.js';
import { waitPast } from '../lib/clock-wait.js';
import { checkSubject } from '../lib/claims.js';
import { SESSION_ID_PATTERN, isSessionIdOf } from '../lib/ids.js';
import type { DeleteAllResult, RefreshTokenStore, StoredSessionInfo } from '../storage.js';
import type { Revocation } from './revocation.js';

/*
 * The manager's deletions (deleteOne, deleteAll, deleteOthers), in one home:
 * each deletes in the store and revokes on every node, and each fails safe —
 * whatever the store answered, or if it did not answer, the access tokens of
 * what may have been deleted are rejected everywhere.
 */

/** What a deletion works with: the manager's store, clock and revocation path. */
export interface DeletionDeps {
  store: RefreshTokenStore;
  clock: () => number;
  revocation: Revocation;
}

/** `manager.deleteOne`: see its documentation. */
export async function deleteOne(subject: string, sessionId: string, deps: DeletionDeps): Promise<boolean> {
  checkSubject(subject);
  if (typeof sessionId !== 'string') throw new SessionError('ERR_CLAIMS_INVALID', 'sessionId must be a string', undefined, 'session_id');
  // Not a session id, or another subject's: nothing of this subject to end.
  if (!isSessionIdOf(sessionId, subject)) return false;
  const now = deps.clock();
  // The revocation does not wait for the store: it holds whatever the store answers (fail safe), so it
  // starts with the delete and the other nodes hear of it one store round trip sooner (bench 7a). A
  // refresh that slips in before the delete lands gets tokens every node already refuses: the entry
  // covers the session id for an access token's lifetime plus the clock tolerance and a second.
  const revoked = deps.revocation.revokeSession(subject, sessionId, 'deleted', now);
  // Handled from the start: it may fail (a broadcast) while the delete is still pending; awaited below.
  revoked.catch(() => undefined);
  let deleted: boolean;
  try {
    deleted = await deps.store.delete(subject, sessionId, now);
  } catch (error) {
    throw storageError('deleteOne', error);
  }
  await revoked;
  return deleted === true;
}

/** `manager.deleteAll`: see its documentation. */
export async function deleteAll(subject: string, deps: DeletionDeps): Promise<number> {
  checkSubject(subject);
  const { clock, store } = deps;
  let result: DeleteAllResult | undefined;
  let failure: SessionError | undefined;
  try {
    result = await store.deleteAll(subject, clock());
  } catch (error) {
    // Unknown outcome: the subject-wide rule below still applies (fail safe).
    failure = storageError('deleteAll', error);
  }
  const storeAt = result !== undefined && Number.isFinite(result.at) ? result.at : -Infinity;
  const at = Math.max(storeAt, clock());
  const sessionIds = result?.sessionIds ?? [];
  const revoked = deps.revocation.revokeSubject(subject, at, sessionIds);
  if (failure !== undefined) {
    revoked.catch(() => undefined);
    throw failure;
  }
  await revoked;
  // Tokens issued at or before `at` are rejected; let this node's clock pass it so a session created here right after this call is not.
  await waitPast(clock, at);
  return sessionIds.length;
}

/**
 * `manager.deleteOthers` ("sign out my other devices"): every session of the
 * subject but `keepSessionId` is deleted and, fail safe as `deleteOne`,
 * revoked on every node whatever the store answered.
 */
export async function deleteOthers(subject: string, keepSessionId: string, deps: DeletionDeps): Promise<number> {
  checkSubject(subject);
  // A missing or garbled id would otherwise mean "keep nothing": refuse rather than sign the caller out too.
  if (typeof keepSessionId !== 'string' || !SESSION_ID_PATTERN.test(keepSessionId)) {
    throw new SessionError('ERR_CLAIMS_INVALID', 'keepSessionId must be a session id', undefined, 'session_id');
  }
  const { clock, store, revocation } = deps;
  let sessions: StoredSessionInfo[];
  try {
    sessions = await store.list(subject, clock());
  } catch (error) {
    throw storageError('deleteOthers', error);
  }
  let failure: SessionError | undefined;
  const results = await Promise.all(
    sessions
      .filter((s) => s.sessionId !== keepSessionId)
      .map(async ({ sessionId }) => {
        const now = clock();
        let deleted = false;
        try {
          deleted = await store.delete(subject, sessionId, now);
        } catch (error) {
          failure ??= storageError('deleteOthers', error);
        }
        // Fail safe, as deleteOne: revoked on every node whatever the store answered.
        await revocation.revokeSession(subject, sessionId, 'deleted', now).catch((error: unknown) => (failure ??= storageError('deleteOthers', error)));
        return deleted;
      }),
  );
  if (failure !== undefined) throw failure;
  return results.filter(Boolean).length;
}

import { SessionError, storageError } from '../errors.js';
import { checkSubject } from '../lib/claims.js';
import { SESSION_ID_PATTERN } from '../lib/ids.js';
import type { RefreshTokenStore, StoredSessionInfo } from '../storage.js';
import type { Revocation } from './revocation.js';

/**
 * `manager.deleteOthers` ("sign out my other devices"), moved out of the
 * manager: every session of the subject but `keepSessionId` is deleted and,
 * fail safe as `deleteOne`, revoked on every node whatever the store answered.
 */
export async function deleteOthers(subject: string, keepSessionId: string, deps: { store: RefreshTokenStore; clock: () => number; revocation: Revocation }): Promise<number> {
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

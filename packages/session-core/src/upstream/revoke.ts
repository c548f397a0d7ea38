import { SessionError, storageError } from '../errors.js';
import type { RefreshTokenStore } from '../storage.js';
import { checkUpstream, checkUpstreamSelector, type UpstreamIdentity, type UpstreamSelector } from './identity.js';

export type { UpstreamSelector } from './identity.js';

/*
 * Ending the sessions a provider's logout names. The store finds them through
 * its upstream index; each is then ended by the manager's deleteOne, the
 * usual path: its refresh token in the store and, on every node and every
 * live socket (through the broadcaster), its access tokens — invalidated
 * whatever the store answers to the delete (fail safe). When the lookup
 * itself fails, nobody can tell which sessions to end: the call rejects with
 * ERR_STORAGE_UNAVAILABLE, so a logout endpoint answers 503 and the provider
 * sends the logout again, rather than acknowledging what was not done.
 */

/** The manager's parts this module uses. */
export interface UpstreamRevocationDeps {
  store: RefreshTokenStore;
  clock: () => number;
  /** The manager's deleteOne: ends one session everywhere; true when the store held it live. */
  deleteOne: (subject: string, sessionId: string) => Promise<boolean>;
}

function unsupported(): never {
  throw new SessionError('ERR_CONFIG_INVALID', 'the refresh token store cannot link sessions to an upstream identity (it has no findUpstream)', undefined, 'option');
}

/** `create()`'s `upstream`, checked; refused when the store could not find the session by it later (a logout would then miss it). */
export function upstreamForCreate(store: RefreshTokenStore, value: unknown): UpstreamIdentity | undefined {
  const upstream = checkUpstream(value);
  if (upstream !== undefined && typeof store.findUpstream !== 'function') unsupported();
  return upstream;
}

/**
 * Ends every live session linked to the selector; resolves with how many the
 * store still held. Idempotent: a second call finds nothing left. When one
 * session's delete fails, its access tokens are invalidated anyway, the
 * others are still ended, and the call rejects with ERR_STORAGE_UNAVAILABLE.
 */
export async function revokeUpstreamSessions(deps: UpstreamRevocationDeps, selector: UpstreamSelector): Promise<number> {
  const checked = checkUpstreamSelector(selector);
  const { store } = deps;
  if (typeof store.findUpstream !== 'function') unsupported();
  let found;
  try {
    found = await store.findUpstream(checked, deps.clock());
  } catch (error) {
    throw storageError('revokeUpstream', error);
  }
  let failure: SessionError | undefined;
  const ended = await Promise.all(
    found.map(({ subject, sessionId }) =>
      deps.deleteOne(subject, sessionId).catch((error: unknown) => {
        failure ??= storageError('revokeUpstream', error);
        return false;
      }),
    ),
  );
  if (failure !== undefined) throw failure;
  return ended.filter(Boolean).length;
}

import { createHash } from 'node:crypto';
import { SessionError, isSessionError } from '../errors.js';
import { dpopError } from './refusal.js';
import type { VerifiedDpopProof } from './proof.js';

/**
 * Where the `jti`s of accepted DPoP proofs are remembered, so that a proof is
 * accepted once (RFC 9449 §11.1). Shared by every node of a deployment (Redis:
 * a proof replayed to another node is refused too) or per node (memory: then
 * only with server nonces, or sticky sessions, does a replay to another node
 * fail).
 *
 * Implementations make `remember` one atomic step: of two concurrent calls
 * with one key, exactly one answers `fresh`. They throw (any error) when they
 * cannot answer, and `checkDpopReplay` then refuses the proof
 * (ERR_STORAGE_UNAVAILABLE): a replay cache fails closed.
 */
export interface DpopReplayCache {
  /**
   * Records `key` for `ttl` milliseconds unless it is already recorded:
   * `fresh` when it was recorded now, `replayed` when it was there. `key` is
   * {@link dpopReplayKey}'s: 43 base64url characters, never a raw `jti`.
   */
  remember(key: string, ttl: number): Promise<'fresh' | 'replayed'>;
  /**
   * Optional: forgets `key`, so it is `fresh` again. For a caller that
   * recorded a key and then could not do what it guarded (a back-channel
   * logout whose revocation failed: the provider's retry must not be refused
   * as a replay).
   */
  forget?(key: string): Promise<void>;
  close?(): void | Promise<void>;
}

/**
 * The replay key of a proof: SHA-256 of the key's thumbprint and the `jti`,
 * base64url. One client's `jti`s cannot collide with another's, and the
 * stored key tells nothing of the proof (a `jti` is the client's text).
 */
export function dpopReplayKey(proof: Pick<VerifiedDpopProof, 'jkt' | 'jti'>): string {
  // The thumbprint is 43 base64url characters, so the first '.' separates the two unambiguously.
  return createHash('sha256').update(`${proof.jkt}.${proof.jti}`, 'utf8').digest('base64url');
}

const REPLAY_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * What a DpopReplayCache accepts (`storeInput.replay`): a key as
 * {@link dpopReplayKey} makes it and a positive finite ttl, which it returns
 * in whole milliseconds; anything else is ERR_CLAIMS_INVALID, before any work.
 */
export function checkReplayInput(key: unknown, ttl: unknown): number {
  if (typeof key !== 'string' || !REPLAY_KEY.test(key) || typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new SessionError('ERR_CLAIMS_INVALID', 'replay cache: the key must be a dpopReplayKey and the ttl a positive number');
  }
  return Math.ceil(ttl);
}

/**
 * Refuses a proof whose `jti` was already used by the same key within the
 * time it could be accepted (`replayTtl`): ERR_DPOP_PROOF_INVALID, reason
 * `replayed`. When the cache cannot confirm the `jti` is fresh (it threw,
 * Redis is down or slow) the proof is refused too, with
 * ERR_STORAGE_UNAVAILABLE: fail closed.
 *
 * @example
 * ```ts
 * const proof = verifyDpopProof(header, request);
 * await checkDpopReplay(replayCache, proof);
 * ```
 */
export async function checkDpopReplay(cache: DpopReplayCache, proof: VerifiedDpopProof): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await cache.remember(dpopReplayKey(proof), proof.replayTtl);
  } catch (cause) {
    throw isSessionError(cause, 'ERR_STORAGE_UNAVAILABLE') ? cause : new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause });
  }
  if (outcome === 'fresh') return;
  if (outcome === 'replayed') throw dpopError('ERR_DPOP_PROOF_INVALID', 'replayed');
  // An answer that is neither: the cache is broken, and a broken cache cannot vouch for the jti.
  throw new SessionError('ERR_STORAGE_UNAVAILABLE');
}

import { SessionError } from './errors.js';

/*
 * Access-token lifetime jitter. Sessions opened together (a thousand tabs at
 * nine o'clock, every client reconnecting after an outage) get access tokens
 * that expire together, and clients that renew shortly before `exp` then
 * refresh together, every lifetime, forever. Taking a random few per cent off
 * each token's lifetime spreads those refreshes over a window that grows
 * with each rotation. Only ever shorter: a token never outlives
 * `accessTokenTtl`, so every bound that rests on it (the invalidation
 * entries' lifetime, a verifier's `maxTokenLifetime`) still holds.
 *
 * Math.random, not a CSPRNG: the jitter hides nothing and protects nothing; it
 * only has to spread.
 */

/** The largest jitter accepted: beyond a tenth, a token's lifetime is no longer the one the app configured. */
export const MAX_ACCESS_TOKEN_TTL_JITTER = 0.1;

/** Checks `accessTokenTtlJitter`: a fraction from 0 (off) to 0.1. */
export function checkJitter(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_ACCESS_TOKEN_TTL_JITTER) {
    throw new SessionError('ERR_CONFIG_INVALID', `options.accessTokenTtlJitter must be a fraction from 0 to ${MAX_ACCESS_TOKEN_TTL_JITTER} (0.05 = up to 5% shorter)`, undefined, 'option');
  }
  return value;
}

/** A token's lifetime in whole seconds: `ttl` less a uniform random part of at most `jitter × ttl` (floored, so never below `ttl × (1 - jitter)`). */
export function jitteredTtl(ttl: number, jitter: number): number {
  if (jitter === 0) return ttl;
  return ttl - Math.floor(Math.random() * (Math.floor(ttl * jitter) + 1));
}

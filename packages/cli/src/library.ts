import { randomBytes } from 'node:crypto';
import { JwtSessionVerifier, type JwtUserSessionManager, type RevocationClaims } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { DEFAULT_KEY_PREFIX, RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { CliError } from './errors.js';
import { operatorManager } from './operator.js';
import type { RedisClient } from './redis.js';

export interface LibraryOptions {
  prefix: string | undefined;
  /** Seconds: the application's `accessTokenTtl`, which decides how long a revocation must be remembered. */
  accessTokenTtl: number;
}

/** The library's own parts over the operator's Redis connection. */
export interface Library {
  manager: JwtUserSessionManager;
  store: RedisRefreshTokenStore;
  broadcaster: RedisInvalidationBroadcaster;
  close(): Promise<void>;
}

/** Age in ms of the oldest entry of the stream, 0 when empty (entry ids start with their ms time). */
export async function oldestEntryAge(client: RedisClient, stream: string, now: number): Promise<number> {
  const [first] = await client.xrange(stream, '-', '+', 'COUNT', 1);
  return first === undefined ? 0 : Math.max(0, now - Number(first[0].split('-')[0]));
}

/**
 * The operator's manager (operator.ts) over the Redis store and broadcaster.
 *
 * Publishing trims the stream by the publisher's retention, so the CLI's
 * retention is never shorter than the age of the oldest entry already there:
 * a revocation sent from the CLI never drops an entry the application's
 * nodes still need.
 */
export async function openLibrary(client: RedisClient, options: LibraryOptions): Promise<Library> {
  const keyPrefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  let store: RedisRefreshTokenStore;
  let probe: RedisInvalidationBroadcaster;
  try {
    store = new RedisRefreshTokenStore(client, { keyPrefix });
    probe = new RedisInvalidationBroadcaster(client, { keyPrefix });
  } catch (cause) {
    throw new CliError('ERR_USAGE', '--prefix must not contain { or }', { cause });
  }
  const invalidationTtl = (options.accessTokenTtl + 6) * 1000; // as the manager: ttl + default clockTolerance (5 s) + 1 s
  let age: number;
  try {
    age = await oldestEntryAge(client, probe.streamKey, Date.now());
  } catch (cause) {
    throw new CliError('ERR_REDIS_UNAVAILABLE', 'cannot read the invalidation stream', { cause });
  }
  const broadcaster = new RedisInvalidationBroadcaster(client, { keyPrefix, retention: Math.max(invalidationTtl, age + 60_000) });
  return { ...operatorManager(store, broadcaster, options.accessTokenTtl), store, broadcaster };
}

/**
 * Whether the invalidation stream revokes these claims, answered as a
 * resource server that just started would: a JwtSessionVerifier replays the
 * stream into its cache, then `isRevoked`. Tokens that do not look like this
 * library's (no `at+jwt`, `sid` or `jti`) are judged as another provider's,
 * dated by `iat`. The verifier's key is random: it is never asked to verify.
 */
export async function revokedByStream(
  client: RedisClient,
  prefix: string | undefined,
  typ: unknown,
  claims: RevocationClaims,
): Promise<{ revoked: boolean; stream: string; by?: 'session_revoked' | 'subject_revoked' }> {
  let broadcaster: RedisInvalidationBroadcaster;
  try {
    broadcaster = new RedisInvalidationBroadcaster(client, { keyPrefix: prefix ?? DEFAULT_KEY_PREFIX });
  } catch (cause) {
    throw new CliError('ERR_USAGE', '--prefix must not contain { or }', { cause });
  }
  const own = typ === 'at+jwt' && typeof claims.sid === 'string' && typeof claims.jti === 'string';
  const cache = new MemoryInvalidAccessTokenCache();
  const verifier = new JwtSessionVerifier({
    keys: { kid: 'jwt-session-cli', algorithm: 'HS256', secret: randomBytes(32) },
    issuer: 'jwt-session-cli',
    audience: 'jwt-session-cli',
    tokens: own ? 'jwt-session' : 'oidc',
    invalidAccessTokenCache: cache,
    broadcaster,
  });
  try {
    await verifier.ready();
    if (!verifier.isRevoked(claims)) return { revoked: false, stream: broadcaster.streamKey };
    // Which rule matched, as read() would say: the session's own invalidation first, else the subject's.
    const by = typeof claims.sid === 'string' && cache.isSessionInvalidated(claims.sid) ? 'session_revoked' : 'subject_revoked';
    return { revoked: true, stream: broadcaster.streamKey, by };
  } catch (cause) {
    throw new CliError('ERR_REDIS_UNAVAILABLE', 'cannot read the invalidation stream', { cause });
  } finally {
    await verifier.close();
    await broadcaster.close();
    cache.close();
  }
}

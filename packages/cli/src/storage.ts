import { isSessionError, type JwtUserSessionManager } from '@jwt-session/session-core';
import { REDIS_OPTIONS } from './args.js';
import { CliError, usage, type CliErrorCode } from './errors.js';
import { POSTGRES_OPTIONS, type PostgresFlags } from './postgres.js';
import { withPostgresManager } from './with-postgres.js';
import { requireRedis, withLibrary, type RedisFlags } from './with-redis.js';

/*
 * The session commands run the same manager calls on either storage; this
 * picks it from the flags (one per command line) and says where a
 * revocation was published, for the output.
 */

/** Options of the commands that take either storage. */
export const STORAGE_OPTIONS = { ...REDIS_OPTIONS, ...POSTGRES_OPTIONS } as const;

export type StorageFlags = RedisFlags & PostgresFlags;

/** A storage as messages name it, and the code its failures carry. */
export interface StorageName {
  name: 'Redis' | 'PostgreSQL';
  unavailable: CliErrorCode;
}

const REDIS: StorageName = { name: 'Redis', unavailable: 'ERR_REDIS_UNAVAILABLE' };
const POSTGRES: StorageName = { name: 'PostgreSQL', unavailable: 'ERR_POSTGRES_UNAVAILABLE' };

/** Which storage the command line names: PostgreSQL with --postgres, else Redis (whose flags withRedis checks). */
export function storageOf(flags: StorageFlags, command: string): StorageName {
  if (flags.postgres === undefined) {
    if (flags.schema !== undefined) throw usage(`${command}: --schema goes with --postgres (with --redis, --prefix names the keys)`);
    return REDIS;
  }
  if (flags.redis !== undefined || flags['redis-env'] !== undefined) throw usage(`${command}: give --redis (or --redis-env) or --postgres, not both`);
  if (flags.cluster === true || flags.prefix !== undefined) throw usage(`${command}: --cluster and --prefix go with --redis (with --postgres, --schema names the tables)`);
  return POSTGRES;
}

/** What a session command works with. */
export interface SessionParts {
  manager: JwtUserSessionManager;
  storage: StorageName;
  /** Where revocations are published, as --json prints it: `{ stream }` on Redis, `{ channel }` on PostgreSQL. */
  published: { stream: string } | { channel: string };
  /** The same for people. */
  where: string;
}

/** Opens the operator's manager on the storage the flags name, runs `body`, and closes everything. */
export function withSessions<T>(flags: StorageFlags, env: Readonly<Record<string, string | undefined>>, accessTokenTtl: number, command: string, body: (parts: SessionParts) => Promise<T>): Promise<T> {
  const storage = storageOf(flags, command);
  if (storage === POSTGRES) {
    return withPostgresManager(flags, accessTokenTtl, command, ({ manager, broadcaster }) =>
      body({ manager, storage, published: { channel: broadcaster.channel }, where: `the revocations table and channel ${broadcaster.channel}` }),
    );
  }
  return withLibrary(requireRedis(flags, env, command), flags.prefix, accessTokenTtl, ({ manager, broadcaster }) =>
    body({ manager, storage, published: { stream: broadcaster.streamKey }, where: broadcaster.streamKey }),
  );
}

/** A store or broadcast failure, said without the library's internals. */
export function failed(operation: string, error: unknown, storage: StorageName): CliError {
  if (isSessionError(error) && error.code === 'ERR_STORAGE_UNAVAILABLE') {
    return new CliError(storage.unavailable, `${operation}: ${storage.name} did not answer (${error.message})`, { cause: error });
  }
  if (isSessionError(error)) return new CliError('ERR_OPERATION_FAILED', `${operation}: ${error.code}: ${error.message}`, { cause: error });
  throw error;
}

import { fromEnvironment } from './args.js';
import { usage } from './errors.js';
import { openLibrary, type Library } from './library.js';
import { connect, type RedisClient, type RedisTarget } from './redis.js';

/** The variable a Redis URL is read from when the command line names none. */
export const REDIS_URL_VARIABLE = 'JWT_SESSION_REDIS_URL';

export interface RedisFlags {
  redis?: string | undefined;
  'redis-env'?: string | undefined;
  cluster?: boolean | undefined;
  prefix?: string | undefined;
}

/**
 * Where to find Redis: `--redis <url>`, else the variable `--redis-env NAME`
 * names, else `$JWT_SESSION_REDIS_URL` when `fallback` (the commands that
 * cannot run without Redis). A URL on the command line shows in `ps` and the
 * shell history with its password; from the environment it does not.
 * Undefined when none is given.
 */
export function redisTarget(flags: RedisFlags, env: Readonly<Record<string, string | undefined>>, command: string, fallback: boolean): RedisTarget | undefined {
  const cluster = flags.cluster === true;
  if (flags.redis !== undefined && flags['redis-env'] !== undefined) throw usage(`${command}: give --redis or --redis-env, not both`);
  if (flags.redis !== undefined) return { url: flags.redis, cluster, source: '--redis' };
  const name = flags['redis-env'] ?? (fallback && env[REDIS_URL_VARIABLE] ? REDIS_URL_VARIABLE : undefined);
  if (name === undefined) return undefined;
  return { url: fromEnvironment(name, '--redis-env', env), cluster, source: `$${name}` };
}

/** The target of a command that needs Redis; a usage error when none is given. */
export function requireRedis(flags: RedisFlags, env: Readonly<Record<string, string | undefined>>, command: string): RedisTarget {
  const target = redisTarget(flags, env, command, true);
  if (target === undefined) throw usage(`${command}: --redis <url> is required (or --redis-env NAME, or $${REDIS_URL_VARIABLE})`);
  return target;
}

/** Connects, runs `body`, and always closes what it opened, so the process can exit. */
export async function withRedis<T>(target: RedisTarget, body: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = await connect(target);
  try {
    return await body(client);
  } finally {
    client.disconnect();
  }
}

/** withRedis plus the library's parts over the connection. */
export function withLibrary<T>(target: RedisTarget, prefix: string | undefined, accessTokenTtl: number, body: (library: Library, client: RedisClient) => Promise<T>): Promise<T> {
  return withRedis(target, async (client) => {
    const library = await openLibrary(client, { prefix, accessTokenTtl });
    try {
      return await body(library, client);
    } finally {
      await library.close();
    }
  });
}

import { usage } from './errors.js';
import { openLibrary, type Library } from './library.js';
import { connect, type RedisClient } from './redis.js';

export interface RedisFlags {
  redis?: string | undefined;
  cluster?: boolean | undefined;
  prefix?: string | undefined;
}

/** Connects, runs `body`, and always closes what it opened, so the process can exit. */
export async function withRedis<T>(flags: RedisFlags, command: string, body: (client: RedisClient) => Promise<T>): Promise<T> {
  if (flags.redis === undefined) throw usage(`${command}: --redis <url> is required`);
  const client = await connect({ url: flags.redis, cluster: flags.cluster === true });
  try {
    return await body(client);
  } finally {
    client.disconnect();
  }
}

/** withRedis plus the library's parts over the connection. */
export function withLibrary<T>(flags: RedisFlags, accessTokenTtl: number, command: string, body: (library: Library, client: RedisClient) => Promise<T>): Promise<T> {
  return withRedis(flags, command, async (client) => {
    const library = await openLibrary(client, { prefix: flags.prefix, accessTokenTtl });
    try {
      return await body(library, client);
    } finally {
      await library.close();
    }
  });
}

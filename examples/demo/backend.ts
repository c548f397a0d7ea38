// Where sessions live: process memory by default, Redis with REDIS_URL, PostgreSQL with DATABASE_URL.
import { MemoryDpopReplayCache, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisDpopReplayCache, RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { postgresBackend } from './backend-postgres.js';
import { HISTORY_SIZE, type Backend, type ChatHistory, type ChatMessage } from './backend-types.js';

export { HISTORY_SIZE, type Backend, type ChatHistory, type ChatMessage } from './backend-types.js';

class MemoryHistory implements ChatHistory {
  #messages: ChatMessage[] = [];
  async add(message: ChatMessage): Promise<void> {
    this.#messages = [...this.#messages, message].slice(-HISTORY_SIZE);
  }
  async recent(): Promise<ChatMessage[]> {
    return this.#messages;
  }
}

export function memoryBackend(): Backend {
  const dpopReplayCache = new MemoryDpopReplayCache();
  return {
    kind: 'memory',
    refreshTokenStore: new MemoryRefreshTokenStore({ maxSessions: 100_000 }),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    broadcaster: undefined,
    dpopReplayCache,
    history: new MemoryHistory(),
    socketAdapter: undefined,
    async close() {
      dpopReplayCache.close();
    },
  };
}

const HISTORY_KEY = 'jwt-session-demo:chat';

class RedisHistory implements ChatHistory {
  constructor(readonly client: Redis) {}
  async add(message: ChatMessage): Promise<void> {
    await this.client.multi().rpush(HISTORY_KEY, JSON.stringify(message)).ltrim(HISTORY_KEY, -HISTORY_SIZE, -1).exec();
  }
  async recent(): Promise<ChatMessage[]> {
    const entries = await this.client.lrange(HISTORY_KEY, 0, -1);
    return entries.flatMap((entry) => {
      try {
        return [JSON.parse(entry) as ChatMessage];
      } catch {
        return [];
      }
    });
  }
}

async function connect(client: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch {
    client.disconnect();
    // Not the URL: it may hold a password.
    throw new Error('could not connect to Redis (check REDIS_URL and that the server is running)');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Cluster mode. Three Redis connections: commands (the session store, the
 * broadcaster's writes, chat history) and Socket.IO's pub/sub pair; the
 * broadcaster opens one more of its own for its blocking stream reads. The
 * access-token invalidation cache stays in process memory: session-core reads
 * it synchronously on every read(), and the broadcaster keeps it in step on
 * every node.
 */
export async function redisBackend(redisUrl: string, log: (line: string) => void): Promise<Backend> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: 'jwt-session-demo' } as const;
  const client = new Redis(redisUrl, options);
  const pub = new Redis(redisUrl, options);
  const sub = new Redis(redisUrl, options);
  let lastError = 0;
  for (const connection of [client, pub, sub]) {
    connection.on('error', (error: Error) => {
      // ioredis retries by itself; one line every 10 s is enough.
      if (Date.now() - lastError > 10_000) log(`redis connection error: ${(error as { code?: string }).code ?? error.name}`);
      lastError = Date.now();
    });
  }
  try {
    await Promise.all([connect(client, 5000), connect(pub, 5000), connect(sub, 5000)]);
  } catch (error) {
    for (const connection of [client, pub, sub]) connection.disconnect();
    throw error;
  }
  const broadcaster = new RedisInvalidationBroadcaster(client);
  return {
    kind: 'redis',
    refreshTokenStore: new RedisRefreshTokenStore(client),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    broadcaster,
    // One atomic SET NX PX per proof: a proof replayed to another node of the cluster is refused there too.
    dpopReplayCache: new RedisDpopReplayCache(client),
    history: new RedisHistory(client),
    socketAdapter: createAdapter(pub, sub),
    async close() {
      await broadcaster.close();
      await Promise.allSettled([client.quit(), pub.quit(), sub.quit()]);
    },
  };
}

export async function createBackend(urls: { redisUrl: string | undefined; databaseUrl: string | undefined }, log: (line: string) => void): Promise<Backend> {
  if (urls.redisUrl !== undefined && urls.databaseUrl !== undefined) throw new Error('set REDIS_URL or DATABASE_URL, not both');
  if (urls.databaseUrl !== undefined) return postgresBackend(urls.databaseUrl, log);
  return urls.redisUrl === undefined ? memoryBackend() : redisBackend(urls.redisUrl, log);
}

import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';

/**
 * One throwaway redis-server for the whole run (free port, loopback, no
 * persistence), started on first use by the harness, which also kills it if
 * the process dies. `stopRedis()` is called from index.ts in a finally block.
 */
let server: Promise<RedisServer> | undefined;
const clients = new Set<Redis>();

export function redisServer(): Promise<RedisServer> {
  server ??= startRedis();
  return server;
}

/** A new ioredis client on the bench server; closed by stopRedis(). */
export async function redisClient(): Promise<Redis> {
  const { url } = await redisServer();
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  clients.add(client);
  await client.ping();
  return client;
}

export async function closeClient(client: Redis): Promise<void> {
  clients.delete(client);
  client.disconnect();
}

export async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (match === null) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

export async function stopRedis(): Promise<void> {
  for (const client of clients) client.disconnect();
  clients.clear();
  if (server === undefined) return;
  const s = server;
  server = undefined;
  await (await s).stop();
}

import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';

/**
 * One throwaway redis-server for the whole run (free port, loopback, no
 * persistence), started on first use by the harness, which also kills it if
 * the process dies. `stopRedis()` is called from index.ts in a finally block.
 */
let server: Promise<RedisServer> | undefined;
const clients = new Set<Redis>();

/** Restarts of the server during this run (recorded in results.json: a restart means a case lost its data). */
export const redisEvents: string[] = [];

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The bench's redis-server, started on first use. If it has died since (it
 * happened once on a shared machine, cause unknown), it is restarted on the
 * same port and the event is logged and kept in results.json.
 */
export async function redisServer(): Promise<RedisServer> {
  server ??= startRedis();
  const s = await server;
  let healthy = alive(s.pid);
  if (healthy) {
    try {
      healthy = (await Promise.race([s.command('PING'), new Promise((resolve) => setTimeout(() => resolve('timeout'), 3000))])) === 'PONG';
    } catch {
      healthy = false;
    }
  }
  if (!healthy) {
    const event = `${new Date().toISOString()}: redis-server on port ${s.port} (pid ${s.pid ?? 'none'}, ${alive(s.pid) ? 'alive but not answering PING' : 'gone'}); restarted`;
    redisEvents.push(event);
    process.stderr.write(`[bench] ${event}\n`);
    await s.restart();
  }
  return s;
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

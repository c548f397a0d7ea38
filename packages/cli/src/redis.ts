import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CliError, usage } from './errors.js';
import { urlCredentials } from './url-credentials.js';

export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  /** Treat the URL as one startup node of a Redis Cluster. */
  cluster: boolean;
  /** Where the URL came from, as errors name it: `--redis`, `$NAME`. */
  source: string;
}

const CONNECT_TIMEOUT_MS = 5000;

function parseUrl(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(`${source} must be a URL such as redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw usage(`${source} must start with redis:// or rediss://`);
  return url;
}

/**
 * Connects once, without the endless reconnect loop a server wants: a CLI
 * that cannot reach Redis should say so and exit, not hang. The URL's
 * password is never echoed in an error.
 */
export async function connect(target: RedisTarget): Promise<RedisClient> {
  const url = parseUrl(target.url, target.source);
  const { username, password } = urlCredentials(url, target.source);
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
  };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 6379);
  let client: RedisClient;
  if (target.cluster) {
    client = new Cluster([{ host, port }], { lazyConnect: true, clusterRetryStrategy: () => null, redisOptions: common });
  } else {
    const db = Number(url.pathname.slice(1) || 0);
    if (!Number.isSafeInteger(db) || db < 0) throw usage(`${target.source}: the database number in the URL path must be a non-negative integer`);
    client = new Redis({ ...common, host, port, db });
  }
  // Failures surface through connect() and each command; the listener keeps ioredis from printing them itself.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // A Cluster resolves connect() before it has asked for the slots; one command makes sure it can serve.
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new CliError('ERR_REDIS_UNAVAILABLE', `cannot reach Redis at ${host}:${port}${target.cluster ? ' (cluster)' : ''}`, { cause });
  }
  return client;
}

/** Every master: where SCAN must run to see every key (one for a standalone server). */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

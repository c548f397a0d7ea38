import { createHash } from 'node:crypto';
import { SessionError } from '@jwt-session/session-core';

/*
 * What differs between a standalone client and a Cluster client (detection,
 * duplication, option shapes), and the option checks both classes share, so
 * the store and the broadcaster never branch on the client type themselves.
 *
 * The client types are structural: only the members this package calls. The
 * classes of ioredis 5 and 6 both fit them, where naming either major's
 * classes would not accept the other's (their private members make them
 * nominal), so one build of this package serves both majors.
 */
interface CommonClient {
  readonly status: string;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close' | 'ready', listener: () => void): unknown;
  listenerCount(event: 'error'): number;
}

/** An ioredis `Redis` (major 5 or 6), as this package uses it. */
export interface StandaloneClient extends CommonClient {
  duplicate(override?: object): StandaloneClient;
}

/** An ioredis `Cluster` (major 5 or 6), as this package uses it. */
export interface ClusterClient extends CommonClient {
  readonly options: { readonly redisOptions?: object | undefined };
  duplicate(startupNodes?: unknown[], options?: object): ClusterClient;
}

/** The client the caller passes in: an ioredis `Redis` or `Cluster`, of ioredis 5 or 6. */
export type RedisClient = StandaloneClient | ClusterClient;

export function isCluster(client: RedisClient): client is ClusterClient {
  return (client as { isCluster?: boolean }).isCluster === true;
}

export function checkTimeout(value: number | undefined, name: string, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be a positive number of milliseconds`, undefined, 'option');
  return ms;
}

export function checkCount(value: number | undefined, name: string, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be a positive integer`, undefined, 'option');
  return n;
}

export interface ScriptDefinition {
  name: string;
  keys: number;
  lua: string;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The scripts as functions of (keys..., args...): EVALSHA through `call`, and
 * EVAL when the server answers NOSCRIPT (a restarted or failed-over server
 * has an empty script cache; EVAL runs the script and caches it again; a
 * NOSCRIPT reply means the script did not run, so sending it again is safe).
 * Not ioredis' defineCommand: that wraps every call in a command subclass, a
 * closure and an extra promise, two microseconds of the ten a command costs
 * the client, and registers names on the caller's client.
 */
export function defineScripts(client: RedisClient, scripts: readonly ScriptDefinition[]): Record<string, ScriptFn> {
  const out: Record<string, ScriptFn> = {};
  for (const { name, keys, lua } of scripts) {
    const sha = createHash('sha1').update(lua).digest('hex');
    const again = (args: (string | number)[]) => (error: unknown) => {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.call('EVAL', lua, keys, ...args);
      throw error;
    };
    out[name] = (...args) => client.call('EVALSHA', sha, keys, ...args).catch(again(args));
  }
  return out;
}

/**
 * A second connection for blocking reads (XREAD BLOCK would stall every other
 * command on a shared one). Its own command timeout is off: the reader bounds
 * its waits itself. The offline queue stays on so a read issued during a
 * reconnect waits for the connection instead of failing in a loop. Every other
 * option, the protocol (RESP2 or RESP3) included, is the caller's: the reader
 * reads replies through reply.ts, which accepts what each of them produces.
 */
export function duplicateForBlocking(client: RedisClient, connectionName: string): RedisClient {
  // `undefined` overrides a commandTimeout the caller may have set: a BLOCK read outlasts any sane one.
  const overrides = {
    connectionName,
    commandTimeout: undefined,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: false,
    // A read cut off by a disconnect is sent again, unchanged, on the new connection: it still names the last id seen.
    autoResendUnfulfilledCommands: true,
  };
  if (isCluster(client)) {
    return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...overrides }, enableOfflineQueue: true });
  }
  return client.duplicate(overrides);
}

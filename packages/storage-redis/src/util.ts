import { SessionError } from '@jwt-session/session-core';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/*
 * What differs between a standalone client and a Cluster client, and the one
 * guard every command goes through: a bounded wait. ioredis alone can keep a
 * command pending for a long time (offline queue, reconnect retries), and a
 * session store that hangs fails open in practice (requests pile up), so every
 * call either answers within `timeout` ms or rejects with
 * ERR_STORAGE_UNAVAILABLE.
 */
export type RedisClient = Redis | Cluster;

export const DEFAULT_COMMAND_TIMEOUT = 1000;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

export function checkTimeout(value: number | undefined, name: string, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new SessionError('ERR_CONFIG_INVALID', `options.${name} must be a positive number of milliseconds`);
  return ms;
}

/** Redis' own message only: an ioredis error also carries the command's arguments, which must not travel. */
function describe(cause: unknown): Error | undefined {
  if (!(cause instanceof Error)) return undefined;
  const clean = new Error(cause.message);
  clean.name = cause.name;
  return clean;
}

export function unavailable(operation: string, why: string, cause?: unknown): SessionError {
  const clean = describe(cause);
  return new SessionError('ERR_STORAGE_UNAVAILABLE', `redis ${operation} failed: ${why}`, clean === undefined ? undefined : { cause: clean });
}

const readyWaits = new WeakMap<RedisClient, Promise<void>>();

/**
 * Resolves when the client can send right away. Commands are never handed to
 * ioredis while it is disconnected: its offline queue would run them after the
 * caller was told they failed. One shared listener per client, however many
 * calls are waiting.
 */
function whenReady(client: RedisClient): Promise<void> | undefined {
  // 'wait' is lazyConnect before the first command: sending is what connects it.
  if (client.status === 'ready' || client.status === 'wait') return undefined;
  if (client.status === 'end') return Promise.reject(new Error('the client was closed'));
  let wait = readyWaits.get(client);
  if (wait === undefined) {
    wait = new Promise<void>((resolve) => {
      client.once('ready', () => {
        readyWaits.delete(client);
        resolve();
      });
    });
    readyWaits.set(client, wait);
  }
  return wait;
}

/** Runs `send` once the client is ready, and gives up after `timeout` ms in all. */
export async function bounded<T>(client: RedisClient, operation: string, timeout: number, send: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(operation, `no answer within ${timeout} ms`)), timeout);
  });
  try {
    const ready = whenReady(client);
    if (ready !== undefined) await Promise.race([ready, expired]);
    const pending = send();
    // If the timer wins, a late failure of the command must not surface as an unhandled rejection.
    pending.catch(() => undefined);
    return await Promise.race([pending, expired]);
  } catch (error) {
    if (error instanceof SessionError) throw error;
    throw unavailable(operation, error instanceof Error ? error.message : 'unknown error', error);
  } finally {
    clearTimeout(timer);
  }
}

export interface ScriptDefinition {
  name: string;
  keys: number;
  lua: string;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers the scripts on the caller's client with defineCommand, which sends
 * EVALSHA and falls back to EVAL on NOSCRIPT (a restarted or failed-over
 * server has an empty script cache). Names are namespaced so they cannot
 * clash with the application's own commands; defining twice is harmless.
 */
export function defineScripts(client: RedisClient, scripts: readonly ScriptDefinition[]): Record<string, ScriptFn> {
  const out: Record<string, ScriptFn> = {};
  for (const { name, keys, lua } of scripts) {
    client.defineCommand(name, { numberOfKeys: keys, lua });
    const fn = (client as unknown as Record<string, ScriptFn>)[name]!;
    out[name] = fn.bind(client);
  }
  return out;
}

/**
 * A second connection for blocking reads (XREAD BLOCK would stall every other
 * command on a shared one). Its own command timeout is off: the reader bounds
 * its waits itself. The offline queue stays on so a read issued during a
 * reconnect waits for the connection instead of failing in a loop.
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
  } as unknown as Partial<RedisOptions>;
  if (isCluster(client)) {
    return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...overrides }, enableOfflineQueue: true });
  }
  return client.duplicate(overrides);
}

import { SessionError } from '@jwt-session/session-core';
import type { RedisClient } from './util.js';

/*
 * The one guard every command goes through: a bounded wait. ioredis alone can
 * keep a command pending for a long time (offline queue, reconnect retries),
 * and a session store that hangs fails open in practice (requests pile up
 * behind it), so every call either answers within its timeout or rejects with
 * ERR_STORAGE_UNAVAILABLE.
 */
export const DEFAULT_COMMAND_TIMEOUT = 1000;

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
  if (client.status === 'ready') return undefined;
  if (client.status === 'end') return Promise.reject(new Error('the client was closed'));
  // A lazyConnect client connects on its first command anyway; connecting it here keeps that command out of the offline queue.
  if (client.status === 'wait') client.connect().catch(() => undefined);
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


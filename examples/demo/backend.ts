// Where sessions live: process memory by default, Redis with REDIS_URL.
import type { InvalidAccessTokenCache, InvalidationBroadcaster, RefreshTokenStore } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';

export interface ChatMessage {
  id: string;
  userId: string;
  name: string;
  text: string;
  at: number;
}

/** The last few chat messages, shown to a tab when it connects. */
export interface ChatHistory {
  add(message: ChatMessage): Promise<void>;
  recent(): Promise<ChatMessage[]>;
}

export const HISTORY_SIZE = 50;

export interface Backend {
  kind: 'memory' | 'redis';
  refreshTokenStore: RefreshTokenStore;
  invalidAccessTokenCache: InvalidAccessTokenCache;
  broadcaster: InvalidationBroadcaster | undefined;
  history: ChatHistory;
  /** Installs the cluster adapter on the Socket.IO server (Redis only). */
  socketAdapter: Parameters<import('socket.io').Server['adapter']>[0] | undefined;
  close(): Promise<void>;
}

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
  return {
    kind: 'memory',
    refreshTokenStore: new MemoryRefreshTokenStore({ maxSessions: 100_000 }),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    broadcaster: undefined,
    history: new MemoryHistory(),
    socketAdapter: undefined,
    async close() {},
  };
}

export async function createBackend(redisUrl: string | undefined): Promise<Backend> {
  if (redisUrl === undefined) return memoryBackend();
  throw new Error('REDIS_URL is not supported yet');
}

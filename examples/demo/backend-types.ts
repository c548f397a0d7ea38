// What every storage backend of the demo provides (backend.ts picks one; backend-postgres.ts is the PostgreSQL one).
import type { DpopReplayCache, InvalidAccessTokenCache, InvalidationBroadcaster, RefreshTokenStore } from '@jwt-session/session-core';

export interface ChatMessage {
  id: string;
  userId: string;
  /** The sender's session: only tabs of that session show the message as their own. */
  sessionId: string;
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
  kind: 'memory' | 'redis' | 'postgres';
  refreshTokenStore: RefreshTokenStore;
  invalidAccessTokenCache: InvalidAccessTokenCache;
  broadcaster: InvalidationBroadcaster | undefined;
  /**
   * Where the DPoP proofs the endpoints and guards accepted are remembered
   * (RFC 9449 §11.1): Redis's is cluster-wide, so a proof replayed to the
   * other node is refused too; memory's is this node's.
   */
  dpopReplayCache: DpopReplayCache;
  history: ChatHistory;
  /** Installs the cluster adapter on the Socket.IO server (Redis and PostgreSQL). */
  socketAdapter: Parameters<import('socket.io').Server['adapter']>[0] | undefined;
  close(): Promise<void>;
}

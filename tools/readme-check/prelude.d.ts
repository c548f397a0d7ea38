// Placeholders the README code blocks use without defining: values an app has
// (the request's IP, its database, the manager made in an earlier block).
// scripts/readme-check.mjs compiles every block with this file. Declare a name
// here only when a reader would obviously supply it; a block that needs more
// than that should define it.

declare const ip: string;
declare const userAgent: string;
declare const sessionId: string;
declare const manager: import('@jwt-session/session-core').JwtUserSessionManager;
declare const db: {
  users: { findOrCreate(sub: string, profile: { email?: unknown; name?: unknown }): Promise<{ id: string; isDisabled?: boolean }> };
  sockets: { add(userId: string, socketId: string, sub: string): Promise<void>; remove(socketId: string): Promise<void> };
};
type ClientToServer = Record<string, (...args: any[]) => void>;
type ServerToClient = Record<string, (...args: any[]) => void>;
type InterServer = Record<string, (...args: any[]) => void>;
declare function login(): Promise<{ accessToken: string; refreshToken: string; accessTokenExpiresAt: number }>;
declare function refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string; accessTokenExpiresAt: number }>;
declare function refreshThenReconnect(): void;
declare function showSignedOut(reason: string): void;
declare const handler: (request: import('fastify').FastifyRequest) => Promise<unknown>;
declare class MyStore implements import('@jwt-session/session-core').RefreshTokenStore {
  insert: import('@jwt-session/session-core').RefreshTokenStore['insert'];
  rotate: import('@jwt-session/session-core').RefreshTokenStore['rotate'];
  settleInsert: import('@jwt-session/session-core').RefreshTokenStore['settleInsert'];
  list: import('@jwt-session/session-core').RefreshTokenStore['list'];
  delete: import('@jwt-session/session-core').RefreshTokenStore['delete'];
  deleteAll: import('@jwt-session/session-core').RefreshTokenStore['deleteAll'];
  close(): Promise<void>;
  countKeys(): Promise<number>;
}

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
/** A reader's own store: whatever RefreshTokenStore requires today, plus a key count. */
type __RefreshTokenStoreMethods = Omit<import('@jwt-session/session-core').RefreshTokenStore, 'close'>;
interface MyStore extends __RefreshTokenStoreMethods {}
declare class MyStore {
  close(): Promise<void>;
  countKeys(): Promise<number>;
}

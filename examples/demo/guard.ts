// TEMPORARY stand-in for @jwt-session/socketio-adapter while that package is
// being written: the same names and shapes, the minimum the demo needs. It
// is replaced by a re-export of the real package as soon as it lands.
import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, isSessionError, type AccessTokenClaims, type JwtUserSessionManager } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'socket.io';

export interface AuthContext {
  sub: string;
  userId: string;
  sessionId: string;
  claims: AccessTokenClaims;
  expiresAt: number;
}

function context(claims: AccessTokenClaims): AuthContext {
  return { sub: claims.sub, userId: claims.sub, sessionId: claims.sid, claims, expiresAt: claims.exp };
}

function code(error: unknown): string {
  return isSessionError(error) ? error.code : 'ERR_INTERNAL';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyServer = Server<any, any, any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySocket = Socket<any, any, any, any>;

export function attachSessionGuard(io: AnyServer, manager: JwtUserSessionManager): { close(): void } {
  const timers = new Map<string, NodeJS.Timeout>();
  const arm = (socket: AnySocket): void => {
    clearTimeout(timers.get(socket.id));
    const auth = socket.data.auth as AuthContext;
    timers.set(
      socket.id,
      setTimeout(() => {
        socket.emit('session:expired', { reason: 'expired' });
        socket.disconnect(true);
      }, Math.max(0, auth.expiresAt * 1000 - Date.now())),
    );
  };
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    if (typeof token !== 'string') return next(Object.assign(new Error('ERR_AUTH_TOKEN_REQUIRED'), { data: { code: 'ERR_AUTH_TOKEN_REQUIRED', message: 'token required' } }));
    manager.read(token).then(
      (claims) => {
        socket.data.auth = context(claims);
        void socket.join([`user:${claims.sub}`, `session:${claims.sid}`]);
        next();
      },
      (error: unknown) => next(Object.assign(new Error(code(error)), { data: { code: code(error), message: 'refused' } })),
    );
  });
  io.on('connection', (socket: AnySocket) => {
    arm(socket);
    socket.on('disconnect', () => {
      clearTimeout(timers.get(socket.id));
      timers.delete(socket.id);
    });
    socket.on('session:renew', (payload: { token?: unknown }, ack: (answer: unknown) => void) => {
      const token = payload?.token;
      if (typeof token !== 'string') return ack({ ok: false, code: 'ERR_AUTH_TOKEN_REQUIRED' });
      manager.read(token).then(
        (claims) => {
          const auth = socket.data.auth as AuthContext;
          if (claims.sub !== auth.sub || claims.sid !== auth.sessionId) return ack({ ok: false, code: 'ERR_SESSION_MISMATCH' });
          socket.data.auth = context(claims);
          arm(socket);
          ack({ ok: true, expiresAt: claims.exp });
        },
        (error: unknown) => ack({ ok: false, code: code(error) }),
      );
    });
  });
  const onOne = (e: { sessionId: string; reason: string }): void => {
    io.in(`session:${e.sessionId}`).emit('session:revoked', { reason: e.reason });
    io.in(`session:${e.sessionId}`).disconnectSockets(true);
  };
  const onAll = (e: { subject: string }): void => {
    io.in(`user:${e.subject}`).emit('session:revoked', { reason: 'all-sessions' });
    io.in(`user:${e.subject}`).disconnectSockets(true);
  };
  manager.on(SESSION_INVALIDATED, onOne);
  manager.on(ALL_SESSIONS_INVALIDATED, onAll);
  return {
    close() {
      manager.off(SESSION_INVALIDATED, onOne);
      manager.off(ALL_SESSIONS_INVALIDATED, onAll);
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}

type Req = IncomingMessage & { auth?: AuthContext };

export function httpAuth(manager: JwtUserSessionManager): (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    const fail = (c: string): void => {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end(JSON.stringify({ error: c, message: 'unauthorized' }));
    };
    if (match === null) return fail('ERR_AUTH_TOKEN_REQUIRED');
    manager.read(match[1]!).then(
      (claims) => {
        req.auth = context(claims);
        next();
      },
      (error: unknown) => fail(code(error)),
    );
  };
}

export async function socketsOfUser(io: AnyServer, userId: string) {
  return io.in(`user:${userId}`).fetchSockets();
}

export async function isUserOnline(io: AnyServer, userId: string): Promise<boolean> {
  return (await socketsOfUser(io, userId)).length > 0;
}

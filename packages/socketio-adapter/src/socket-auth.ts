import type { JwtUserSessionManager } from '@jwt-session/session-core';
import type { Socket } from 'socket.io';
import { authenticateRequest, type AuthContext, type AuthenticateOptions } from './authenticate.js';
import { AuthError, toAuthError } from './errors.js';
import { sessionRoom, userRoom, type RoomOptions } from './rooms.js';
import { acceptedSockets } from './state.js';

/** Optional bookkeeping of who is connected where (e.g. a `sockets` table). */
export interface SessionTracker {
  registerSocket(userId: string, socketId: string, sub: string): void | Promise<void>;
  unregisterSocket(socketId: string): void | Promise<void>;
}

export interface SocketAuthOptions extends AuthenticateOptions, RoomOptions {
  sessions?: SessionTracker;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySocket = Socket<any, any, any, any>;

/** Socket.IO's middleware error: the client sees `err.message` and `err.data`. */
export type HandshakeError = Error & { data: { code: AuthError['code']; message: string } };

/** `err.message` is the code so that clients which only log the message still get something to branch on. */
export function handshakeError(error: AuthError): HandshakeError {
  return Object.assign(new Error(error.code), { data: error.toJSON() });
}

function warn(what: string, error: unknown): void {
  // Only the code: a message from caller code could quote anything.
  const code = (error as { code?: unknown } | null)?.code;
  process.emitWarning(`${what} failed (${typeof code === 'string' ? code : 'no code'})`, { type: 'SocketAuthWarning' });
}

/**
 * A Socket.IO middleware for `io.use` / `namespace.use`: verifies the
 * handshake's token, provisions the user, fills `socket.data.auth`, joins the
 * user and session rooms and registers the socket. Refusals reach the client
 * as `connect_error` with `err.message` = code and `err.data = { code, message }`.
 *
 * The socket is registered here, once this middleware accepts it; put it last
 * if other middlewares may still refuse the connection, or their refusals
 * leave a registration that no disconnect will undo.
 */
export function socketAuth(manager: JwtUserSessionManager, options: SocketAuthOptions = {}): (socket: AnySocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    // Already accepted by another instance (the guard's and the app's own): do the work once.
    if (acceptedSockets.has(socket)) {
      next();
      return;
    }
    accept(manager, socket, options).then(
      () => next(),
      (error: unknown) => next(handshakeError(toAuthError(error))),
    );
  };
}

/** Verifies a socket and sets it up. Shared with the guard's re-verification of recovered sockets. */
export async function accept(manager: JwtUserSessionManager, socket: AnySocket, options: SocketAuthOptions): Promise<void> {
  await admit(socket, await verifySocket(manager, socket, options), options);
}

/** Verifies the handshake's token and provisions the user; changes nothing on the socket. */
export async function verifySocket(manager: JwtUserSessionManager, socket: AnySocket, options: SocketAuthOptions): Promise<AuthContext> {
  const request = socket.request as { rawHeaders?: string[] } | undefined;
  const { auth } = await authenticateRequest(
    manager,
    { auth: socket.handshake.auth, headers: socket.handshake.headers, ...(request?.rawHeaders ? { rawHeaders: request.rawHeaders } : {}) },
    options,
  );
  return auth;
}

/** Registers a verified socket, stores its context and joins its user and session rooms. */
export async function admit(socket: AnySocket, auth: AuthContext, options: SocketAuthOptions): Promise<void> {
  const tracker = options.sessions;
  if (tracker !== undefined) {
    try {
      await tracker.registerSocket(auth.userId, socket.id, auth.sub);
    } catch (error) {
      throw new AuthError('ERR_STORAGE_UNAVAILABLE', 'the socket could not be registered', { cause: error });
    }
    socket.once('disconnect', () => {
      Promise.resolve()
        .then(() => tracker.unregisterSocket(socket.id))
        .catch((error: unknown) => warn('sessions.unregisterSocket', error));
    });
  }
  socket.data = { ...(socket.data as object | undefined), auth };
  acceptedSockets.add(socket);
  await socket.join([userRoom(auth.userId, options), sessionRoom(auth.sessionId, options)]);
}

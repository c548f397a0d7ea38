import type { BroadcastOperator, RemoteSocket } from 'socket.io';
import type { AuthSocketData } from './authenticate.js';
import { AuthError } from './errors.js';
import { sessionRoom, userRoom, type RoomOptions } from './rooms.js';

/**
 * A Server or a Namespace. The helpers go through `in(room)`, which the
 * installed adapter (e.g. @socket.io/redis-adapter) answers for the whole
 * cluster, not only for this node.
 */
export interface RoomTarget<SocketData> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  in(room: string): BroadcastOperator<any, SocketData>;
}

/** Every socket of the user on every node, with its `data.auth`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function socketsOfUser<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, userId: string, options: RoomOptions = {}): Promise<RemoteSocket<any, SocketData>[]> {
  return target('socketsOfUser', io, userRoom(userId, options)).fetchSockets();
}

/** `io.in(room)`, or a coded error when `io` is not a Server or a Namespace. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function target<SocketData>(where: string, io: RoomTarget<SocketData>, room: string): BroadcastOperator<any, SocketData> {
  let operator: unknown;
  try {
    operator = typeof io?.in === 'function' ? io.in(room) : undefined;
  } catch {
    operator = undefined;
  }
  if (operator === null || typeof operator !== 'object') throw AuthError.config(where, 'io', 'a Socket.IO Server or Namespace');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return operator as BroadcastOperator<any, SocketData>;
}

export async function isUserOnline<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, userId: string, options: RoomOptions = {}): Promise<boolean> {
  return (await socketsOfUser(io, userId, options)).length > 0;
}

/**
 * Disconnects every socket of the user on every node. This is a kick, not a
 * revocation: a client holding a valid token may reconnect; revoke with the
 * manager (deleteAll) to keep it out.
 */
export function disconnectUser<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, userId: string, options: RoomOptions = {}): void {
  target('disconnectUser', io, userRoom(userId, options)).disconnectSockets();
}

/** Disconnects every socket of one session on every node (a kick: see {@link disconnectUser}). */
export function disconnectSession<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, sessionId: string, options: RoomOptions = {}): void {
  target('disconnectSession', io, sessionRoom(sessionId, options)).disconnectSockets();
}

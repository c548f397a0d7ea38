import type { BroadcastOperator, RemoteSocket } from 'socket.io';
import type { AuthSocketData } from './authenticate.js';
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
export function socketsOfUser<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, userId: string, options: RoomOptions = {}): Promise<RemoteSocket<any, SocketData>[]> {
  return io.in(userRoom(userId, options)).fetchSockets();
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
  io.in(userRoom(userId, options)).disconnectSockets();
}

/** Disconnects every socket of one session on every node (a kick: see {@link disconnectUser}). */
export function disconnectSession<SocketData = AuthSocketData>(io: RoomTarget<SocketData>, sessionId: string, options: RoomOptions = {}): void {
  io.in(sessionRoom(sessionId, options)).disconnectSockets();
}

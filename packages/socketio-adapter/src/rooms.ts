import { AuthError } from './errors.js';

/** Room prefixes shared by the middleware (which joins) and the helpers (which target). */
export interface RoomOptions {
  /** @default 'user:' */
  userRoomPrefix?: string;
  /** @default 'session:' */
  sessionRoomPrefix?: string;
}

function room(where: string, name: string, id: unknown, options: unknown, key: keyof RoomOptions, fallback: string): string {
  if (typeof id !== 'string') throw AuthError.config(where, name, 'a string');
  let prefix: unknown;
  try {
    prefix = options === undefined || options === null ? undefined : (options as RoomOptions)[key];
  } catch {
    throw AuthError.config(where, key, 'readable');
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw AuthError.config(where, key, 'a string');
  return (prefix ?? fallback) + id;
}

/** The room every socket of a user joins. */
export function userRoom(userId: string, options: RoomOptions = {}): string {
  return room('userRoom', 'userId', userId, options, 'userRoomPrefix', 'user:');
}

/** The room every socket of a session joins. */
export function sessionRoom(sessionId: string, options: RoomOptions = {}): string {
  return room('sessionRoom', 'sessionId', sessionId, options, 'sessionRoomPrefix', 'session:');
}

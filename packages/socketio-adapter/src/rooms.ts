/** Room prefixes shared by the middleware (which joins) and the helpers (which target). */
export interface RoomOptions {
  /** @default 'user:' */
  userRoomPrefix?: string;
  /** @default 'session:' */
  sessionRoomPrefix?: string;
}

export function userRoom(userId: string, options: RoomOptions = {}): string {
  return (options.userRoomPrefix ?? 'user:') + userId;
}

export function sessionRoom(sessionId: string, options: RoomOptions = {}): string {
  return (options.sessionRoomPrefix ?? 'session:') + sessionId;
}

import { AuthError, toAuthError } from '../errors.js';
import { admit, verifySocket, type SocketAuthOptions } from '../socket-auth.js';
import type { GuardContext, GuardedSocket } from './guarded-socket.js';

/**
 * A socket Socket.IO recovered (connection-state recovery): it skipped every
 * middleware and got back `socket.data` and its rooms from before the outage.
 * It must prove it is the same subject, session and user as before with the
 * token it sends now; until then its events wait and it is out of its rooms,
 * so that nothing addressed to the old identity reaches whoever came back.
 * `options` are the ones its namespace's middlewares last accepted a socket
 * with: the application's socketAuth was skipped too.
 */
export function recover(entry: GuardedSocket, guard: GuardContext, options: SocketAuthOptions): void {
  const { socket } = entry;
  const previous = entry.auth;
  // Indexed under its old session right away, so a revocation during the check still reaches it.
  entry.index();
  const rooms = [...socket.rooms].filter((room) => room !== socket.id);
  for (const room of rooms) void socket.leave(room);
  const check = verifySocket(guard.verifier, socket, options)
    .then(async (auth) => {
      if (previous === undefined) {
        // Nothing says who it was: it starts afresh, with no restored rooms or data.
        socket.data = {};
      } else if (auth.sub !== previous.sub || auth.sessionId !== previous.sessionId || auth.userId !== previous.userId) {
        throw new AuthError('ERR_SESSION_MISMATCH', undefined, 'session_mismatch');
      } else if (socket.connected) {
        await socket.join(rooms);
      }
      await admit(socket, auth, options);
    })
    .then(
      () => {
        if (!socket.connected) {
          // Gone during the check: its disconnect came before admit() registered it.
          void Promise.resolve(options.sessions?.unregisterSocket(socket.id)).catch(() => undefined);
          return;
        }
        if (entry.ended) return;
        entry.index();
        entry.arm();
        entry.recheck();
      },
      (error: unknown) => entry.refuse(toAuthError(error)),
    );
  entry.hold(check);
}

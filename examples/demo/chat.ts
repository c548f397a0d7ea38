// The chat room and presence, over Socket.IO guarded by the session adapter.
//
// attachSessionGuard() authenticates every handshake with the access token
// (`auth.token`), puts every socket in the rooms `user:<id>` and
// `session:<sid>`, and when a session is revoked on any node, sends that
// session's sockets `session:revoked` and disconnects them (reason `all` for
// "sign out everywhere", which @jwt-session/client reports as
// `signed-out-elsewhere`). This module only
// adds the application: messages, presence, and "your sessions changed" pings.
import {
  ALL_SESSIONS_INVALIDATED,
  SESSION_CREATED,
  SESSION_CREATED_ON_NEW_DEVICE,
  SESSION_INVALIDATED,
  SESSION_REFRESHED,
  type DpopOptions,
  type JwtUserSessionManager,
} from '@jwt-session/session-core';
import type { SessionEvents, TelemetryOption } from '@jwt-session/session-core';
import { attachSessionGuard, type AuthContext } from '@jwt-session/socketio-adapter';
import { randomUUID } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import type { ChatHistory, ChatMessage } from './backend.js';

export const MAX_MESSAGE_LENGTH = 500;

export interface ChatDeps {
  io: Server;
  manager: JwtUserSessionManager;
  log(line: string): void;
  /** The guard's OpenTelemetry reporting (METRICS=1). */
  telemetry?: TelemetryOption;
  /** DPoP: a bound session's socket carries a proof in `auth.dpop` (htu: the Socket.IO endpoint URL, htm: GET). */
  dpop?: DpopOptions;
  /** As the endpoints': believe X-Forwarded-* for a proof's `htu`. */
  trustProxy?: boolean;
}

export interface PresenceEntry {
  userId: string;
  name: string;
  tabs: number;
}

/** What a tab receives: `mine` means "sent from this tab's session", not "by this user" (another device of the same user is not mine). */
export type MessageView = Omit<ChatMessage, 'sessionId'> & { mine: boolean };

function authOf(socket: { data: unknown }): AuthContext {
  return (socket.data as { auth: AuthContext }).auth;
}

function nameOf(auth: AuthContext): string {
  return typeof auth.claims.name === 'string' ? auth.claims.name : auth.userId;
}

export function viewOf({ sessionId, ...message }: ChatMessage, viewerSessionId: string): MessageView {
  return { ...message, mine: sessionId === viewerSessionId };
}

/** Who is online, across every node (fetchSockets goes through the installed adapter). */
export async function presence(io: Server): Promise<PresenceEntry[]> {
  const byUser = new Map<string, PresenceEntry>();
  for (const socket of await io.fetchSockets()) {
    const auth = authOf(socket);
    const entry = byUser.get(auth.userId) ?? { userId: auth.userId, name: nameOf(auth), tabs: 0 };
    entry.tabs += 1;
    byUser.set(auth.userId, entry);
  }
  return [...byUser.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function attachChat({ io, manager, log, telemetry, dpop, trustProxy }: ChatDeps, history: ChatHistory): { close(): void } {
  // The guard's default renewRateLimit scales with the access-token lifetime,
  // so the short tokens the demo can be run with need no override.
  const guard = attachSessionGuard(io, manager, {
    ...(telemetry === undefined ? {} : { telemetry }),
    ...(dpop === undefined ? {} : { dpop }),
    ...(trustProxy === undefined ? {} : { trustProxy }),
  });

  // Presence is pulled, not pushed: any change pings every tab on every node,
  // and each tab asks for the current list (so a late answer from one node
  // can never overwrite a newer one from another).
  const presenceChanged = (): void => void io.emit('presence:changed');

  io.on('connection', (socket: Socket) => {
    const auth = authOf(socket);
    log(`socket connected user=${auth.userId} session=${auth.sessionId}`);
    presenceChanged();
    history.recent().then(
      (messages) => socket.emit('chat:history', messages.map((m) => viewOf(m, authOf(socket).sessionId))),
      () => socket.emit('chat:history', []),
    );

    socket.on('presence:get', (ack: unknown) => {
      if (typeof ack !== 'function') return;
      presence(io).then(
        (list) => ack({ ok: true, users: list }),
        () => ack({ ok: false }),
      );
    });

    socket.on('chat:message', (payload: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (answer: unknown) => void) : () => undefined;
      const text = typeof (payload as { text?: unknown } | null)?.text === 'string' ? (payload as { text: string }).text.trim() : '';
      if (text === '' || text.length > MAX_MESSAGE_LENGTH) return reply({ ok: false, message: `A message has 1 to ${MAX_MESSAGE_LENGTH} characters.` });
      const current = authOf(socket);
      const message: ChatMessage = { id: randomUUID(), userId: current.userId, sessionId: current.sessionId, name: nameOf(current), text, at: Date.now() };
      // The session id stays on the server: the sender's session sees `mine`, everyone else does not.
      const room = `session:${current.sessionId}`;
      io.to(room).emit('chat:message', viewOf(message, current.sessionId));
      io.except(room).emit('chat:message', viewOf(message, ''));
      history.add(message).catch(() => undefined);
      reply({ ok: true });
    });

    socket.on('disconnect', (reason) => {
      log(`socket disconnected user=${auth.userId} session=${auth.sessionId} reason=${reason}`);
      presenceChanged();
    });
  });

  // Tell the user's other tabs to reload "My sessions". Only the node where
  // the change happened pings (origin local); the adapter reaches every node.
  const sessionsChanged = (event: { subject: string; origin?: 'local' | 'remote' }): void => {
    if (event.origin !== 'remote') io.to(`user:${event.subject}`).emit('sessions:changed');
  };
  manager.on(SESSION_CREATED, sessionsChanged);
  manager.on(SESSION_REFRESHED, sessionsChanged);
  manager.on(SESSION_INVALIDATED, sessionsChanged);
  manager.on(ALL_SESSIONS_INVALIDATED, sessionsChanged);
  // "New sign-in to your account": what a real app e-mails, shown here in the user's open tabs. Not for a first sign-in.
  const newDevice = (event: SessionEvents[typeof SESSION_CREATED_ON_NEW_DEVICE]): void => {
    if (!event.first) io.to(`user:${event.subject}`).emit('security:new-device', { device: event.device.summary, sessionId: event.sessionId, at: event.at });
  };
  manager.on(SESSION_CREATED_ON_NEW_DEVICE, newDevice);

  return {
    close() {
      manager.off(SESSION_CREATED, sessionsChanged);
      manager.off(SESSION_REFRESHED, sessionsChanged);
      manager.off(SESSION_INVALIDATED, sessionsChanged);
      manager.off(ALL_SESSIONS_INVALIDATED, sessionsChanged);
      manager.off(SESSION_CREATED_ON_NEW_DEVICE, newDevice);
      guard.close();
    },
  };
}

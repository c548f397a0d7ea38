import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, type SessionVerifier, type SessionEvents } from '@jwt-session/session-core';
import type { EventEmitter } from 'node:events';
import type { Namespace, Server } from 'socket.io';
import { authenticateToken, type AuthContext } from './authenticate.js';
import { AuthError, messageOf, toAuthError, type AuthErrorCode } from './errors.js';
import { admit, socketAuth, verifySocket, type AnySocket, type SocketAuthOptions } from './socket-auth.js';
import { acceptances } from './state.js';
import { nodeScheduler, setDeadline, type LongTimeout, type Scheduler } from './timers.js';

/** Server → client, then the socket is disconnected. */
export const SESSION_REVOKED_EVENT = 'session:revoked';
/** Server → client at the access token's `exp`, then the socket is disconnected. */
export const SESSION_EXPIRED_EVENT = 'session:expired';
/** Client → server with `{ token }` (or the token) and an ack. */
export const SESSION_RENEW_EVENT = 'session:renew';

/**
 * Why a socket was revoked: session-core's invalidation reasons, plus
 * `unverified` when the guard's own re-check fails: a recovered socket whose token no longer
 * passes or who came back as someone else, or a revocation seen in the cache but never announced.
 */
export type RevocationReason = SessionEvents[typeof SESSION_INVALIDATED]['reason'] | 'unverified';

export interface SessionRevokedPayload {
  code: AuthErrorCode;
  reason: RevocationReason;
}
export interface SessionExpiredPayload {
  code: 'ERR_AUTH_TOKEN_EXPIRED';
  /** The `exp` that passed, Unix seconds. */
  expiresAt: number;
}
export type RenewResult = { ok: true; expiresAt: number } | { ok: false; code: AuthErrorCode; message: string };

export interface SessionGuardOptions extends SocketAuthOptions {
  /** ms since the epoch; pass the manager's clock when tests freeze time. @default Date.now */
  clock?: () => number;
  /** For tests of long lifetimes. @default Node's timers, unref'd */
  scheduler?: Omit<Scheduler, 'now'>;
  /**
   * `session:renew` per socket: a bucket of `max` renewals refilled over
   * `windowMs` (each renewal is a signature check). Beyond it: `ERR_RATE_LIMITED`.
   * @default { max: 10, windowMs: 60_000 }
   */
  renewRateLimit?: { max: number; windowMs: number };
}

export interface SessionGuard {
  /** Stops guarding: removes the middleware, every listener and every timer. Connected sockets stay connected. */
  close(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyServer = Server<any, any, any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNamespace = Namespace<any, any, any, any>;
type Middleware = (socket: AnySocket, next: (err?: Error) => void) => void;
type PacketMiddleware = (packet: unknown[], next: (err?: Error) => void) => void;

interface Guarded {
  socket: AnySocket;
  /** The code it was condemned with: from then on nothing from it reaches the application. */
  ended: AuthErrorCode | undefined;
  timer: LongTimeout | undefined;
  /** Pending re-verifications (new or recovered socket, subject-wide revocation); events wait for them. */
  checking: Promise<void> | undefined;
  /** Renewals left in its bucket, and when the bucket was last refilled (ms). */
  renewals: { left: number; at: number };
  /** The keys it is indexed under, kept so that unindexing does not depend on socket.data, which changes. */
  keys: { sessionId: string; sub: string } | undefined;
  onDisconnect: () => void;
  onRenew: (...args: unknown[]) => void;
  onPacket: PacketMiddleware;
}

function authOf(socket: AnySocket): AuthContext | undefined {
  return (socket.data as { auth?: AuthContext } | undefined)?.auth;
}

function addTo<K>(index: Map<K, Set<Guarded>>, key: K, entry: Guarded): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(entry);
}

function removeFrom<K>(index: Map<K, Set<Guarded>>, key: K, entry: Guarded): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}

function tokenOfRenewal(payload: unknown): string | undefined {
  if (typeof payload === 'string') return payload;
  if (payload !== null && typeof payload === 'object') {
    const token = (payload as { token?: unknown }).token;
    if (typeof token === 'string') return token;
  }
  return undefined;
}

/**
 * Guards every namespace of `io`, including those created later (dynamic
 * namespaces): authenticates handshakes (the {@link socketAuth} middleware,
 * run before the application's own), disconnects sockets whose session is
 * revoked on any node or whose access token expires, handles in-band renewal,
 * re-verifies recovered sockets and keeps events of condemned sockets away
 * from the application's handlers.
 */
export function attachSessionGuard(io: AnyServer, manager: SessionVerifier, options: SessionGuardOptions = {}): SessionGuard {
  const middleware: Middleware = socketAuth(manager, options);
  const clock = options.clock ?? Date.now;
  const base = options.scheduler ?? nodeScheduler;
  const scheduler: Scheduler = { setTimeout: (callback, ms) => base.setTimeout(callback, ms), clearTimeout: (handle) => base.clearTimeout(handle), now: clock };
  const renewLimit = options.renewRateLimit ?? { max: 10, windowMs: 60_000 };
  const guarded = new Map<AnySocket, Guarded>();
  const bySession = new Map<string, Set<Guarded>>();
  const bySubject = new Map<string, Set<Guarded>>();
  // Weak: with cleanupEmptyChildNamespaces, dynamic namespaces come and go for the life of the server.
  const namespaces = new WeakSet<AnyNamespace>();
  const optionsByNamespace = new WeakMap<AnyNamespace, SocketAuthOptions>();
  let closed = false;

  function end(entry: Guarded, event: typeof SESSION_REVOKED_EVENT, payload: SessionRevokedPayload): void;
  function end(entry: Guarded, event: typeof SESSION_EXPIRED_EVENT, payload: SessionExpiredPayload): void;
  function end(entry: Guarded, event: string, payload: SessionRevokedPayload | SessionExpiredPayload): void {
    if (entry.ended !== undefined) return;
    entry.ended = payload.code;
    entry.timer?.clear();
    entry.timer = undefined;
    // Sent before the DISCONNECT packet on the same transport, so the client reads why it was dropped.
    entry.socket.emit(event, payload);
    entry.socket.disconnect();
  }

  function expire(entry: Guarded): void {
    const auth = authOf(entry.socket);
    end(entry, SESSION_EXPIRED_EVENT, { code: 'ERR_AUTH_TOKEN_EXPIRED', expiresAt: auth?.expiresAt ?? 0 });
  }

  function isPastExpiry(entry: Guarded): boolean {
    const auth = authOf(entry.socket);
    return auth !== undefined && auth.expiresAt * 1000 <= clock();
  }

  function isRevokedNow(entry: Guarded): boolean {
    const auth = authOf(entry.socket);
    return auth !== undefined && manager.isRevoked(auth.claims);
  }

  function arm(entry: Guarded): void {
    entry.timer?.clear();
    entry.timer = undefined;
    const auth = authOf(entry.socket);
    if (auth === undefined || entry.ended !== undefined) return;
    entry.timer = setDeadline(() => expire(entry), auth.expiresAt * 1000, scheduler);
  }

  function index(entry: Guarded): void {
    unindex(entry);
    const auth = authOf(entry.socket);
    if (auth === undefined || entry.ended !== undefined) return;
    entry.keys = { sessionId: auth.sessionId, sub: auth.sub };
    addTo(bySession, auth.sessionId, entry);
    addTo(bySubject, auth.sub, entry);
  }

  function unindex(entry: Guarded): void {
    if (entry.keys === undefined) return;
    removeFrom(bySession, entry.keys.sessionId, entry);
    removeFrom(bySubject, entry.keys.sub, entry);
    entry.keys = undefined;
  }

  /** Makes the socket's events wait for `work` (which must not reject) as well as for any check already pending. */
  function hold(entry: Guarded, work: Promise<void>): void {
    const pending = entry.checking;
    const all: Promise<void> = (pending === undefined ? work : Promise.all([pending, work]).then(() => undefined)).finally(() => {
      if (entry.checking === all) entry.checking = undefined;
    });
    entry.checking = all;
  }

  /**
   * Asks the manager again whether the socket's session has been revoked: a
   * synchronous lookup on the claims the handshake verified (no second
   * signature check). Once a socket is indexed, invalidation events reach it;
   * this closes the window before that (the handshake's read() and the
   * connection are several awaits apart).
   */
  function recheck(entry: Guarded, onFailure: (error: AuthError) => void): void {
    const auth = authOf(entry.socket);
    if (auth !== undefined && manager.isRevoked(auth.claims)) onFailure(new AuthError('ERR_SESSION_REVOKED'));
  }

  /** Refuses a socket after the fact, with the code the verification failed with. */
  function refuse(entry: Guarded, error: AuthError): void {
    if (error.code === 'ERR_AUTH_TOKEN_EXPIRED') expire(entry);
    else end(entry, SESSION_REVOKED_EVENT, { code: error.code, reason: 'unverified' });
  }

  /** Takes one renewal from the socket's bucket, refilled in proportion to the time since the last one. */
  function takeRenewal(entry: Guarded): boolean {
    const now = clock();
    const bucket = entry.renewals;
    bucket.left = Math.min(renewLimit.max, bucket.left + ((now - bucket.at) * renewLimit.max) / renewLimit.windowMs);
    bucket.at = now;
    if (bucket.left < 1) return false;
    bucket.left -= 1;
    return true;
  }

  async function renew(entry: Guarded, payload: unknown): Promise<RenewResult> {
    if (!takeRenewal(entry)) throw new AuthError('ERR_RATE_LIMITED');
    const token = tokenOfRenewal(payload);
    if (token === undefined) throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
    const current = authOf(entry.socket);
    const next = await authenticateToken(manager, token, options);
    if (current === undefined || next.sub !== current.sub || next.sessionId !== current.sessionId) {
      throw new AuthError('ERR_SESSION_MISMATCH');
    }
    // Revoked or expired while the new token was being verified.
    if (entry.ended !== undefined) throw new AuthError(entry.ended);
    entry.socket.data.auth = next;
    arm(entry);
    return { ok: true, expiresAt: next.expiresAt };
  }

  function onConnection(socket: AnySocket): void {
    if (closed || guarded.has(socket)) return;
    const entry: Guarded = {
      socket,
      ended: undefined,
      timer: undefined,
      checking: undefined,
      keys: undefined,
      renewals: { left: renewLimit.max, at: clock() },
      onDisconnect: () => {
        entry.timer?.clear();
        unindex(entry);
        guarded.delete(socket);
      },
      onRenew: (...args) => {
        const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (result: RenewResult) => void) : undefined;
        renew(entry, args[0]).then(
          (result) => ack?.(result),
          (error: unknown) => {
            const failure = toAuthError(error);
            ack?.({ ok: false, code: failure.code, message: failure.message });
          },
        );
      },
      onPacket: (packet, next) => {
        const decide = (): void => {
          if (closed) next();
          else if (entry.ended !== undefined) dropped(packet, entry.ended);
          else if (isPastExpiry(entry)) {
            // The timer may lag behind a busy event loop; the packet must not. The
            // ack goes first: once disconnected, the client drops late acks.
            dropped(packet, 'ERR_AUTH_TOKEN_EXPIRED');
            expire(entry);
          } else if (isRevokedNow(entry)) {
            // A revocation the cache knows but whose event never came (a lost
            // broadcast, a listener that threw): two map lookups per packet.
            dropped(packet, 'ERR_SESSION_REVOKED');
            refuse(entry, new AuthError('ERR_SESSION_REVOKED'));
          } else next();
        };
        // A check may start while another is awaited (a revocation during a recovery): wait for all.
        const pass = (): void => {
          if (entry.checking !== undefined) void entry.checking.then(pass);
          else decide();
        };
        pass();
      },
    };
    guarded.set(socket, entry);
    socket.once('disconnect', entry.onDisconnect);
    socket.on(SESSION_RENEW_EVENT, entry.onRenew);
    socket.use(entry.onPacket);

    if (!acceptances.has(socket)) {
      // A recovered socket: Socket.IO skipped the middlewares and restored
      // socket.data and the rooms from before the outage. Indexed under its old
      // session right away, so a revocation during the check still reaches it;
      // out of its rooms until the check confirms who it is, so that nothing
      // addressed to the old identity reaches whoever came back.
      index(entry);
      // Socket.IO skipped the application's socketAuth too: apply the options the
      // namespace's middlewares last accepted a socket with.
      const effective = optionsByNamespace.get(socket.nsp) ?? options;
      const previous = authOf(socket);
      const rooms = [...socket.rooms].filter((room) => room !== socket.id);
      for (const room of rooms) void socket.leave(room);
      hold(
        entry,
        verifySocket(manager, socket, effective)
          .then(async (auth) => {
            if (previous === undefined) {
              // Nothing says who it was: it starts afresh, with no restored rooms or data.
              socket.data = {};
            } else if (auth.sub !== previous.sub || auth.sessionId !== previous.sessionId || auth.userId !== previous.userId) {
              throw new AuthError('ERR_SESSION_MISMATCH');
            } else if (socket.connected) {
              await socket.join(rooms);
            }
            await admit(socket, auth, effective);
          })
          .then(
            () => {
              if (!socket.connected) {
                // Gone during the check: its disconnect came before admit() registered it.
                void Promise.resolve(effective.sessions?.unregisterSocket(socket.id)).catch(() => undefined);
                return;
              }
              if (entry.ended !== undefined) return;
              index(entry);
              arm(entry);
              recheck(entry, (error) => refuse(entry, error));
            },
            (error: unknown) => refuse(entry, toAuthError(error)),
          ),
      );
      return;
    }
    optionsByNamespace.set(socket.nsp, acceptances.get(socket)!.options);
    index(entry);
    arm(entry);
    recheck(entry, (error) => refuse(entry, error));
  }

  function onSessionInvalidated(event: SessionEvents[typeof SESSION_INVALIDATED]): void {
    const set = bySession.get(event.sessionId);
    if (set === undefined) return;
    for (const entry of [...set]) end(entry, SESSION_REVOKED_EVENT, { code: 'ERR_SESSION_REVOKED', reason: event.reason });
  }

  function onAllInvalidated(event: SessionEvents[typeof ALL_SESSIONS_INVALIDATED]): void {
    const set = bySubject.get(event.subject);
    if (set === undefined) return;
    for (const entry of [...set]) {
      const auth = authOf(entry.socket);
      // iat has second granularity: a token from a later second is certainly newer than the revocation.
      if (auth === undefined || entry.ended !== undefined || auth.claims.iat * 1000 > event.at) continue;
      // The exact answer (ms issue time against `at`) is the manager's; ask it with the socket's own token.
      recheck(entry, (failure) => {
        if (failure.code === 'ERR_AUTH_TOKEN_EXPIRED') expire(entry);
        else if (failure.code === 'ERR_SESSION_REVOKED') end(entry, SESSION_REVOKED_EVENT, { code: failure.code, reason: 'deleted' });
      });
    }
  }

  function install(nsp: AnyNamespace): void {
    if (closed || namespaces.has(nsp)) return;
    namespaces.add(nsp);
    // First in line, so the application's middlewares and handlers already see socket.data.auth.
    (nsp as unknown as { _fns: Middleware[] })._fns.unshift(middleware);
    (nsp as unknown as EventEmitter).prependListener('connection', onConnection);
  }

  for (const nsp of io._nsps.values()) install(nsp);
  io.sockets.on('new_namespace', install);
  manager.on(SESSION_INVALIDATED, onSessionInvalidated);
  manager.on(ALL_SESSIONS_INVALIDATED, onAllInvalidated);

  return {
    close() {
      if (closed) return;
      closed = true;
      manager.off(SESSION_INVALIDATED, onSessionInvalidated);
      manager.off(ALL_SESSIONS_INVALIDATED, onAllInvalidated);
      io.sockets.off('new_namespace', install);
      for (const nsp of io._nsps.values()) {
        if (!namespaces.has(nsp)) continue;
        const fns = (nsp as unknown as { _fns: Middleware[] })._fns;
        const at = fns.indexOf(middleware);
        if (at >= 0) fns.splice(at, 1);
        nsp.off('connection', onConnection);
      }
      for (const entry of guarded.values()) {
        entry.timer?.clear();
        entry.socket.off('disconnect', entry.onDisconnect);
        entry.socket.off(SESSION_RENEW_EVENT, entry.onRenew);
        const fns = (entry.socket as unknown as { fns: PacketMiddleware[] }).fns;
        const at = fns.indexOf(entry.onPacket);
        if (at >= 0) fns.splice(at, 1);
      }
      guarded.clear();
      bySession.clear();
      bySubject.clear();
    },
  };
}

/** A dropped event's ack still answers, so a client awaiting it does not hang until its timeout. */
function dropped(packet: unknown[], code: AuthErrorCode): void {
  const ack = packet[packet.length - 1];
  if (typeof ack === 'function') (ack as (result: RenewResult) => void)({ ok: false, code, message: messageOf(code) });
}

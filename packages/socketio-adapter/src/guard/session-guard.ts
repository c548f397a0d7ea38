import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, guardTelemetry, type GuardTelemetry, type SessionEvents, type SessionVerifier, type TelemetryOption } from '@jwt-session/session-core';
import type { ProvisionedUser } from '../authenticate.js';
import { checkDpopOptions, type GuardDpop } from '../dpop.js';
import { checkGuardOptions, checkVerifier } from '../options.js';
import { handshakeCheck, type AnySocket, type HandshakeOutcome, type SocketAuthOptions } from '../socket-auth.js';
import { acceptances } from '../state.js';
import { nodeScheduler, type Scheduler } from '../timers.js';
import { ExpirySchedule } from './expiry-schedule.js';
import { GuardedSocket, type GuardContext } from './guarded-socket.js';
import { SESSION_RENEW_EVENT } from './protocol.js';
import { recover } from './recovery.js';
import { DEFAULT_RENEW_RATE_LIMIT, type RenewRateLimit } from './renewal-bucket.js';
import { SocketIndex } from './socket-index.js';
import { checkServer, existingNamespaces, removeMiddleware, useFirst, type AnyNamespace, type AnyServer, type Middleware } from './socketio-internals.js';

/** Which namespaces a guard protects, by name (`'/'`, `'/chat'`, a dynamic namespace's child name). */
export type NamespaceSelector = readonly string[] | RegExp | ((name: string) => boolean);

export interface SessionGuardOptions<User extends ProvisionedUser = ProvisionedUser> extends SocketAuthOptions<User> {
  /**
   * The namespaces to guard: a list of names, a pattern or a predicate, tested
   * on each namespace as it appears (dynamic ones too). The others stay
   * public: no authentication, no revocation. @default every namespace
   */
  namespaces?: NamespaceSelector;
  /** ms since the epoch; pass the manager's clock when tests freeze time. @default Date.now */
  clock?: () => number;
  /** For tests of long lifetimes. @default Node's timers, unref'd */
  scheduler?: Omit<Scheduler, 'now'>;
  /**
   * `session:renew` per socket (each renewal is a signature check): a bucket
   * of `max` renewals refilled over `windowMs`, and with `perLifetime` at
   * least that many per lifetime (`exp − iat`) of the socket's current access
   * token. Beyond it: `ERR_RATE_LIMITED` (the socket stays).
   *
   * Why this default: the client renews every socket of a session once per
   * rotation (ahead of each expiry, about twice per lifetime, and once more
   * for each tab that loads), so the honest rate grows as tokens get shorter.
   * A fixed 10 a minute tripped 5-second tokens with a few tabs; 20 at once
   * covers a handful of tabs loading together, 20 a minute is far above what
   * 5-minute tokens need, and 4 per lifetime gives short tokens twice their
   * steady need. Abuse stays bounded: a socket gets at most one check per 3 s
   * with tokens of 12 s or longer.
   * @default { max: 20, windowMs: 60_000, perLifetime: 4 }
   */
  renewRateLimit?: RenewRateLimit;
  /**
   * OpenTelemetry: handshake duration by outcome (`jwt_session.guard.handshake_duration`)
   * and sockets under guard (`jwt_session.guard.sockets`).
   * @default the global providers of `@opentelemetry/api` (when installed); `false` turns it off
   */
  telemetry?: TelemetryOption;
}

export interface SessionGuard {
  /** Stops guarding: removes the middleware, every listener and every timer. Connected sockets stay connected. */
  close(): void;
}

type SessionInvalidated = SessionEvents[typeof SESSION_INVALIDATED];
type AllInvalidated = SessionEvents[typeof ALL_SESSIONS_INVALIDATED];

/**
 * The guard of one Server: installs the handshake middleware in each
 * namespace, takes each connected socket under guard, and turns the
 * verifier's revocation events into disconnections.
 */
class ServerSessionGuard implements SessionGuard, GuardContext {
  readonly verifier: SessionVerifier;
  readonly options: SessionGuardOptions;
  readonly dpop: GuardDpop | undefined;
  readonly clock: () => number;
  readonly renewLimit: RenewRateLimit;
  readonly index = new SocketIndex<GuardedSocket>();
  readonly expiries: ExpirySchedule<GuardedSocket>;
  closed = false;
  readonly #io: AnyServer;
  readonly #guarded = new Map<AnySocket, GuardedSocket>();
  // Weak: with cleanupEmptyChildNamespaces, dynamic namespaces come and go for the life of the server.
  readonly #installed = new WeakSet<AnyNamespace>();
  readonly #optionsByNamespace = new WeakMap<AnyNamespace, SocketAuthOptions>();
  readonly #authenticate: (socket: AnySocket) => HandshakeOutcome;
  readonly #telemetry: GuardTelemetry;

  constructor(io: AnyServer, verifier: SessionVerifier, options: SessionGuardOptions) {
    this.#io = io;
    this.verifier = verifier;
    this.options = options;
    this.dpop = checkDpopOptions('attachSessionGuard', options as Record<string, unknown>);
    this.clock = options.clock ?? Date.now;
    const base = options.scheduler ?? nodeScheduler;
    const scheduler: Scheduler = { setTimeout: (callback, ms) => base.setTimeout(callback, ms), clearTimeout: (handle) => base.clearTimeout(handle), now: this.clock };
    this.expiries = new ExpirySchedule(scheduler);
    this.renewLimit = options.renewRateLimit ?? DEFAULT_RENEW_RATE_LIMIT;
    this.#authenticate = handshakeCheck(verifier, options);
    this.#telemetry = guardTelemetry(options.telemetry);
    this.#telemetry.trackSockets(() => this.#guarded.size);
    for (const nsp of existingNamespaces(io)) this.#install(nsp);
    io.sockets.on('new_namespace', this.#install);
    verifier.on(SESSION_INVALIDATED, this.#onSessionInvalidated);
    verifier.on(ALL_SESSIONS_INVALIDATED, this.#onAllInvalidated);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.verifier.off(SESSION_INVALIDATED, this.#onSessionInvalidated);
    this.verifier.off(ALL_SESSIONS_INVALIDATED, this.#onAllInvalidated);
    this.#io.sockets.off('new_namespace', this.#install);
    for (const nsp of existingNamespaces(this.#io)) {
      if (!this.#installed.has(nsp)) continue;
      removeMiddleware(nsp, this.#middleware);
      nsp.off('connection', this.#onConnection);
    }
    // Their packet middleware stays on the socket (Socket.IO has no public way
    // to remove one) and lets everything through now that `closed` is set.
    for (const entry of this.#guarded.values()) {
      entry.dispose();
      entry.socket.off('disconnect', this.#onDisconnect);
      entry.socket.off(SESSION_RENEW_EVENT, this.#onRenew);
    }
    this.#guarded.clear();
    this.index.clear();
    this.expiries.clear();
    this.#telemetry.close();
  }

  /** The handshake middleware, first in every guarded namespace; inert after close(). */
  readonly #middleware: Middleware = (socket, next) => {
    if (this.closed) return next();
    const start = performance.now();
    const outcome = this.#authenticate(socket);
    if (outcome instanceof Promise) void outcome.then((error) => this.#answer(start, error, next));
    else this.#answer(start, outcome, next);
  };

  #answer(start: number, error: Error | undefined, next: (err?: Error) => void): void {
    this.#telemetry.handshake(performance.now() - start, error === undefined);
    next(error);
  }

  readonly #install = (nsp: AnyNamespace): void => {
    if (this.closed || this.#installed.has(nsp) || !this.#selects(nsp.name)) return;
    this.#installed.add(nsp);
    // First in line, so the application's middlewares and handlers already see socket.data.auth.
    useFirst(nsp, this.#middleware);
    nsp.prependListener('connection', this.#onConnection);
  };

  #selects(name: string): boolean {
    const selector = this.options.namespaces;
    if (selector === undefined) return true;
    if (selector instanceof RegExp) {
      selector.lastIndex = 0; // a /g or /y pattern keeps state between tests
      return selector.test(name);
    }
    if (typeof selector === 'function') return selector(name) === true;
    return selector.includes(name);
  }

  readonly #onConnection = (socket: AnySocket): void => {
    if (this.closed || this.#guarded.has(socket)) return;
    const entry = new GuardedSocket(socket, this);
    this.#guarded.set(socket, entry);
    socket.on('disconnect', this.#onDisconnect);
    socket.on(SESSION_RENEW_EVENT, this.#onRenew);
    socket.use(entry.middleware());
    const acceptance = acceptances.get(socket);
    if (acceptance === undefined) {
      recover(entry, this, this.#optionsByNamespace.get(socket.nsp) ?? this.options);
      return;
    }
    this.#optionsByNamespace.set(socket.nsp, acceptance.options);
    entry.index();
    entry.arm();
    entry.recheck();
  };

  /*
   * The two socket listeners are the same functions for every socket, not
   * two closures built on every handshake: an EventEmitter calls them with
   * `this` set to the socket.
   */
  readonly #onDisconnect: (this: AnySocket) => void = this.#disconnectListener();
  readonly #onRenew: (this: AnySocket, ...args: unknown[]) => void = this.#renewListener();

  #disconnectListener(): (this: AnySocket) => void {
    const guarded = this.#guarded;
    return function (this: AnySocket) {
      const entry = guarded.get(this);
      if (entry === undefined) return;
      guarded.delete(this);
      entry.dispose();
    };
  }

  #renewListener(): (this: AnySocket, ...args: unknown[]) => void {
    const guarded = this.#guarded;
    return function (this: AnySocket, ...args: unknown[]) {
      guarded.get(this)?.onRenew(args);
    };
  }

  readonly #onSessionInvalidated = (event: SessionInvalidated): void => {
    for (const entry of this.index.ofSession(event.sessionId)) entry.revoke({ code: 'ERR_SESSION_REVOKED', reason: event.reason });
  };

  readonly #onAllInvalidated = (event: AllInvalidated): void => {
    const found = new Set(event.sessionIds ?? []);
    for (const entry of this.index.ofSubject(event.subject)) {
      const auth = entry.auth;
      if (auth === undefined || entry.ended) continue;
      // A session the deletion found is over whatever its token's iat says: a node whose clock runs ahead
      // issues tokens dated after `at`, and the per-packet check alone would leave the socket connected,
      // still receiving its rooms' broadcasts.
      // Otherwise iat has second granularity: a token from a later second is certainly newer than the
      // revocation, and the exact answer (ms issue time against `at`) is the verifier's.
      const revoked = found.has(auth.sessionId) || (auth.claims.iat * 1000 <= event.at && entry.isRevoked());
      // `all`, not `deleted`: the client tells "signed out everywhere" from "this session was revoked".
      if (revoked) entry.revoke({ code: 'ERR_SESSION_REVOKED', reason: 'all' });
    }
  };
}

/**
 * Guards every namespace of `io`, including those created later (dynamic
 * namespaces): authenticates handshakes (the {@link socketAuth} middleware,
 * run before the application's own), disconnects sockets whose session is
 * revoked on any node or whose access token expires, handles in-band renewal,
 * re-verifies recovered sockets and keeps events of condemned sockets away
 * from the application's handlers. With `namespaces`, only the selected
 * namespaces are guarded and the others stay public.
 *
 * @example
 * const guard = attachSessionGuard(io, manager, { users });
 * io.on('connection', (socket) => socket.data.auth.userId);
 * guard.close(); // on shutdown
 */
export function attachSessionGuard<User extends ProvisionedUser = ProvisionedUser>(
  io: AnyServer,
  manager: SessionVerifier,
  options: SessionGuardOptions<User> = {},
): SessionGuard {
  checkServer('attachSessionGuard', io);
  checkVerifier('attachSessionGuard', 'manager', manager);
  checkGuardOptions('attachSessionGuard', options);
  return new ServerSessionGuard(io, manager, options as SessionGuardOptions);
}

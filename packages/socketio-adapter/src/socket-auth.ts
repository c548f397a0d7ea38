import type { DpopReplayCache, SessionVerifier } from '@jwt-session/session-core';
import type { Socket } from 'socket.io';
import { syncReadOf, verifyToken, verifyTokenNow, type AuthContext, type AuthenticateOptions, type ProvisionedUser } from './authenticate.js';
import { checkDpopOptions, schemeOf, type GuardDpop, type ProofRequest } from './dpop.js';
import { AuthError, reportRefusal, toAuthError } from './errors.js';
import type { DpopGuardFields } from './http-auth.js';
import { sessionRoom, userRoom, type RoomOptions } from './rooms.js';
import { checkSocketOptions, checkVerifier } from './options.js';
import { acceptances, type Acceptance } from './state.js';
import { findToken, type TokenRequest } from './token-source.js';

/** Optional bookkeeping of who is connected where (e.g. a `sockets` table). */
export interface SessionTracker {
  registerSocket(userId: string, socketId: string, sub: string): void | Promise<void>;
  unregisterSocket(socketId: string): void | Promise<void>;
}

/**
 * The socket's options. `dpop` binds the protocol to the handshake: a bound
 * token needs a proof in `auth.dpop` (or a `DPoP` header) whose `htu` is the
 * Socket.IO endpoint URL (public origin and engine path, `/socket.io/`, no
 * query) and `htm` `GET`; see the README.
 */
export interface SocketAuthOptions<User extends ProvisionedUser = ProvisionedUser> extends AuthenticateOptions<User>, RoomOptions, DpopGuardFields {
  sessions?: SessionTracker;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySocket = Socket<any, any, any, any>;

/**
 * Socket.IO's middleware error: the client sees `err.message` and `err.data`.
 * `dpopNonce`: the server's current DPoP nonce, on a DPoP refusal when nonces
 * are on (the `DPoP-Nonce` header of HTTP): retry with a proof that carries it.
 */
export type HandshakeError = Error & { data: { code: AuthError['code']; message: string; dpopNonce?: string } };

/** `err.message` is the code so that clients which only log the message still get something to branch on. */
export function handshakeError(error: AuthError, dpop?: GuardDpop): HandshakeError {
  const data: HandshakeError['data'] = error.toJSON();
  const nonce = dpopNonceFor(error.code, dpop);
  if (nonce !== undefined) data.dpopNonce = nonce;
  return Object.assign(new Error(error.code), { data });
}

/** A fresh nonce to answer a DPoP refusal with, when nonces are on (RFC 9449 §8). */
export function dpopNonceFor(code: string, dpop: GuardDpop | undefined): string | undefined {
  if (dpop?.nonces === undefined || !code.startsWith('ERR_DPOP_')) return undefined;
  return dpop.nonces.current();
}

/**
 * What a socket's proof is checked against (RFC 9449 §4.3, bound to Socket.IO):
 * `htm` `GET` and `htu` the endpoint URL the handshake was made to (the engine
 * path, `/socket.io/`, without query), for the handshake and every
 * `session:renew` alike. The proof is `auth.dpop` (a browser cannot set headers
 * on a WebSocket), or a `DPoP` header from other clients: both at once are two proofs.
 */
export function socketProof(socket: AnySocket): ProofRequest {
  const handshake = socket.handshake;
  const auth = handshake.auth as { token?: unknown; dpop?: unknown } | undefined;
  const header = handshake.headers.dpop;
  const proof = header === undefined ? auth?.dpop : auth?.dpop === undefined ? header : [auth.dpop, header];
  // The Authorization scheme counts only when the token came from that header, not from `auth.token`.
  const fromAuth = auth?.token !== undefined && auth.token !== null && auth.token !== '';
  return renewalProof(socket, proof, fromAuth ? undefined : schemeOf(handshake.headers.authorization));
}

/** The proof of a `session:renew` (its payload's `dpop`), checked as the handshake's: same `htu`, `htm` `GET`. */
export function renewalProof(socket: AnySocket, proof: unknown, scheme?: string): ProofRequest {
  const request = socket.request as { url?: string; socket?: { encrypted?: boolean } } | undefined;
  return { scheme, proof, method: 'GET', target: request?.url, origin: { headers: socket.handshake.headers, encrypted: request?.socket?.encrypted === true } };
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
 *
 * Several instances on one socket (the guard's and the application's own) all
 * apply: a later one with other options verifies again with the options
 * combined (its fields win), so its `users` can still refuse a disabled user,
 * and its rooms and context replace the earlier ones.
 */
export function socketAuth<User extends ProvisionedUser = ProvisionedUser>(
  manager: SessionVerifier,
  options: SocketAuthOptions<User> = {},
): (socket: AnySocket, next: (err?: Error) => void) => void {
  checkVerifier('socketAuth', 'manager', manager);
  checkSocketOptions('socketAuth', options);
  return socketMiddleware(manager, options as SocketAuthOptions);
}

/** {@link socketAuth} for the guard, which checked the manager and its options (socketAuth's and more) itself. */
export function socketMiddleware(manager: SessionVerifier, options: SocketAuthOptions): (socket: AnySocket, next: (err?: Error) => void) => void {
  const authenticate = handshakeCheck(manager, options);
  return (socket, next) => {
    if (typeof next !== 'function') throw AuthError.config('socketAuth middleware', 'next', 'a function');
    const outcome = authenticate(socket);
    if (outcome === undefined) next();
    else if (outcome instanceof Promise) void outcome.then(next);
    else next(outcome);
  };
}

/**
 * What a handshake check answers: `undefined` (accepted), the error to pass
 * to `next` (refused), or a promise of either when something had to be waited
 * for (a verifier without `readSync`, a user store, a tracker, an adapter
 * that joins asynchronously). The promise never rejects.
 */
export type HandshakeOutcome = HandshakeError | undefined | Promise<HandshakeError | undefined>;

/**
 * The handshake middleware's work, built once per middleware (the verifier's
 * `readSync` looked up then): verify, provision, admit. With `readSync`, no
 * user store and no tracker, a handshake is answered in the same turn, with
 * no promise and no closure: the `.then` chain it replaces cost three
 * microtask turns and four allocations per handshake.
 */
export function handshakeCheck(manager: SessionVerifier, options: SocketAuthOptions): (socket: AnySocket) => HandshakeOutcome {
  const readSync = syncReadOf(manager);
  const dpop = checkDpopOptions('socketAuth', options as Record<string, unknown>);
  const refuse = (error: unknown): HandshakeError => {
    const failure = toAuthError(error);
    reportRefusal(options.onError, failure);
    // The client gets the code and its fixed message, never the reason.
    return handshakeError(failure, dpop);
  };
  const accepted = (): undefined => undefined;
  return (socket) => {
    // Already accepted by another instance (the guard's and the app's own): the
    // options of both apply. With the same options the work is done once.
    const previous = acceptances.get(socket);
    if (previous !== undefined) {
      const effective = combine(previous.options, options);
      if (sameOptions(previous.options, effective)) return undefined;
      return accept(manager, socket, effective, true).then(accepted, refuse);
    }
    try {
      const auth = verifyTokenNow(manager, readSync, handshakeToken(socket, options), options, dpop, socketProof, socket);
      if (auth instanceof Promise) return auth.then((context) => admit(socket, context, options)).then(accepted, refuse);
      const admitted = admit(socket, auth, options);
      return admitted === undefined ? undefined : admitted.then(accepted, refuse);
    } catch (error) {
      return refuse(error);
    }
  };
}

/** The options that decide who a socket is and where it goes. */
const ACCEPTANCE_KEYS = ['users', 'sessions', 'cookie', 'userRoomPrefix', 'sessionRoomPrefix'] as const satisfies readonly (keyof SocketAuthOptions)[];

/** `earlier` overlaid with the fields `later` sets. */
function combine(earlier: SocketAuthOptions, later: SocketAuthOptions): SocketAuthOptions {
  const result: Record<string, unknown> = { ...earlier };
  for (const key of ACCEPTANCE_KEYS) if (later[key] !== undefined) result[key] = later[key];
  return result as SocketAuthOptions;
}

function sameOptions(a: SocketAuthOptions, b: SocketAuthOptions): boolean {
  return ACCEPTANCE_KEYS.every((key) => a[key] === b[key]);
}

/**
 * Verifies a socket and sets it up. Shared with the guard's re-verification of
 * recovered sockets. `again`: a second middleware verifying the handshake an
 * earlier one accepted, whose proof's `jti` that one has just remembered.
 */
export function accept(manager: SessionVerifier, socket: AnySocket, options: SocketAuthOptions, again = false): Promise<void> {
  return verifySocket(manager, socket, options, again).then((auth) => admit(socket, auth, options));
}

/** Answers `fresh` without remembering anything: for a proof an earlier middleware of the same handshake remembered. */
const REMEMBERED: DpopReplayCache = { remember: () => Promise.resolve('fresh') };

/**
 * Verifies the handshake's token and provisions the user; changes nothing on
 * the socket. The manager and the options were checked when the middleware
 * or the guard was built, not again on every handshake.
 */
export function verifySocket(manager: SessionVerifier, socket: AnySocket, options: SocketAuthOptions, again = false): Promise<AuthContext> {
  let token: string;
  try {
    token = handshakeToken(socket, options);
  } catch (error) {
    return Promise.reject(toAuthError(error));
  }
  let dpop = checkDpopOptions('socketAuth', options as Record<string, unknown>);
  // Every rule of the proof is checked again, but its jti is this handshake's own, not a replay.
  if (again && dpop !== undefined) dpop = { ...dpop, replayCache: REMEMBERED };
  return verifyToken(manager, token, options, dpop, socketProof, socket);
}

/** The handshake's token (auth payload, Authorization header, allowed cookie); throws an {@link AuthError}. */
function handshakeToken(socket: AnySocket, options: SocketAuthOptions): string {
  const handshake = socket.handshake;
  const request: TokenRequest = { auth: handshake.auth, headers: handshake.headers };
  const rawHeaders = (socket.request as { rawHeaders?: string[] } | undefined)?.rawHeaders;
  if (rawHeaders) request.rawHeaders = rawHeaders;
  return findToken(request, options).token;
}

const NO_TRACKERS: ReadonlySet<SessionTracker> = new Set();

/**
 * Registers a verified socket, stores its context and joins its user and
 * session rooms. On a socket an earlier middleware already accepted, it
 * registers with trackers that have not seen it yet and moves it out of rooms
 * the new context no longer names. Synchronous (undefined) unless a tracker
 * or the adapter has something to wait for.
 */
export function admit(socket: AnySocket, auth: AuthContext, options: SocketAuthOptions): Promise<void> | undefined {
  const previous = acceptances.get(socket);
  const tracker = options.sessions;
  if (tracker !== undefined && previous?.trackers.has(tracker) !== true) return register(socket, auth, options, previous, tracker);
  return settle(socket, auth, options, previous, previous?.trackers ?? NO_TRACKERS);
}

async function register(socket: AnySocket, auth: AuthContext, options: SocketAuthOptions, previous: Acceptance | undefined, tracker: SessionTracker): Promise<void> {
  try {
    await tracker.registerSocket(auth.userId, socket.id, auth.sub);
  } catch (error) {
    throw new AuthError('ERR_STORAGE_UNAVAILABLE', { cause: error }, 'tracker');
  }
  const trackers = new Set(previous?.trackers);
  trackers.add(tracker);
  socket.once('disconnect', () => {
    Promise.resolve()
      .then(() => tracker.unregisterSocket(socket.id))
      .catch((error: unknown) => warn('sessions.unregisterSocket', error));
  });
  await settle(socket, auth, options, previous, trackers);
}

function settle(socket: AnySocket, auth: AuthContext, options: SocketAuthOptions, previous: Acceptance | undefined, trackers: ReadonlySet<SessionTracker>): Promise<void> | undefined {
  // No session room for a token without a session id: all such sockets would share one.
  const rooms = auth.sessionId === '' ? [userRoom(auth.userId, options)] : [userRoom(auth.userId, options), sessionRoom(auth.sessionId, options)];
  socket.data = withAuth(socket.data, auth);
  acceptances.set(socket, { options, rooms, trackers });
  if (previous !== undefined) return move(socket, previous.rooms, rooms);
  // The in-memory adapter (and Redis's) join synchronously; one that answers with a promise is waited for.
  const joined: unknown = socket.join(rooms);
  return typeof (joined as PromiseLike<void> | undefined)?.then === 'function' ? Promise.resolve(joined as PromiseLike<void>) : undefined;
}

/**
 * A copy of `data` with `auth` set. A new socket's data is `{}`, for which a
 * literal without the spread is enough: a property after a spread is defined
 * through V8's runtime, not an inline cache, every time.
 */
function withAuth(data: unknown, auth: AuthContext): object {
  if (data === undefined || data === null || (typeof data === 'object' && Reflect.ownKeys(data).length === 0)) return { auth };
  return { ...data, auth };
}

async function move(socket: AnySocket, from: readonly string[], to: string[]): Promise<void> {
  for (const room of from) if (!to.includes(room)) await socket.leave(room);
  await socket.join(to);
}

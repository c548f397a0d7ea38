import type { SessionVerifier } from '@jwt-session/session-core';
import { verifyToken, type AuthContext } from '../authenticate.js';
import type { GuardDpop } from '../dpop.js';
import { AuthError, reportRefusal, toAuthError, type AuthErrorCode, type AuthErrorReason } from '../errors.js';
import { dpopNonceFor, renewalProof, type AnySocket, type SocketAuthOptions } from '../socket-auth.js';
import type { ExpirySchedule, Expiring } from './expiry-schedule.js';
import {
  answerDropped,
  SESSION_EXPIRED_EVENT,
  SESSION_REVOKED_EVENT,
  tokenOfRenewal,
  type RenewResult,
  type SessionExpiredPayload,
  type SessionRevokedPayload,
} from './protocol.js';
import { RenewalBucket, type RenewRateLimit } from './renewal-bucket.js';
import type { IndexKeys, Indexable, SocketIndex } from './socket-index.js';

/** What every guarded socket shares with its guard. */
export interface GuardContext {
  readonly verifier: SessionVerifier;
  readonly options: SocketAuthOptions;
  /** The checked `dpop` option: a bound token's renewal needs a proof (payload `dpop`). */
  readonly dpop: GuardDpop | undefined;
  /** ms since the epoch. */
  readonly clock: () => number;
  readonly renewLimit: RenewRateLimit;
  readonly index: SocketIndex<GuardedSocket>;
  readonly expiries: ExpirySchedule<GuardedSocket>;
  /** After close(), sockets are left alone: their events pass, their timers are cleared. */
  readonly closed: boolean;
}

type PacketMiddleware = (packet: unknown[], next: (err?: Error) => void) => void;

/**
 * One live socket under guard: its expiry, the checks its events wait for,
 * its renewals, and the one way it ends (an event saying why, then a
 * server-side disconnect). Built on every handshake, so it holds no closure
 * and no timer of its own: its listeners are the guard's, shared by all
 * sockets, and its expiry is a place in the guard's {@link ExpirySchedule}.
 */
export class GuardedSocket implements Indexable, Expiring {
  readonly socket: AnySocket;
  readonly #guard: GuardContext;
  /** Created by the first renewal: most sockets never renew, and a full bucket is what a new one holds anyway. */
  #renewals: RenewalBucket | undefined;
  /** The code it was condemned with: from then on nothing from it reaches the application. */
  #ended: AuthErrorCode | undefined;
  /** And why, for a renewal that answers with that code. */
  #endedReason: AuthErrorReason = 'unspecified';
  /** Pending re-verifications (recovered socket); events wait for them. */
  #checking: Promise<void> | undefined;
  indexKeys: IndexKeys | undefined;
  expiryDeadline: number | undefined;

  constructor(socket: AnySocket, guard: GuardContext) {
    this.socket = socket;
    this.#guard = guard;
  }

  get auth(): AuthContext | undefined {
    return (this.socket.data as { auth?: AuthContext } | undefined)?.auth;
  }

  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** Indexes it under its current session and subject, so revocation events find it. */
  index(): void {
    const auth = this.auth;
    if (auth === undefined || this.ended) this.#guard.index.delete(this);
    else this.#guard.index.set(this, auth.sessionId, auth.sub);
  }

  /** (Re)schedules its expiry at the current token's `exp`. */
  arm(): void {
    const auth = this.auth;
    if (auth === undefined || this.ended) this.#guard.expiries.delete(this);
    else this.#guard.expiries.set(this, auth.expiresAt * 1000);
  }

  /** Cancels its expiry and takes it out of the index: on disconnect and on close(). */
  dispose(): void {
    this.#guard.expiries.delete(this);
    this.#guard.index.delete(this);
  }

  revoke(payload: SessionRevokedPayload, reason: AuthErrorReason = payload.reason === 'all' ? 'subject_revoked' : 'session_revoked'): void {
    this.#end(SESSION_REVOKED_EVENT, payload, reason);
  }

  expire(): void {
    const payload: SessionExpiredPayload = { code: 'ERR_AUTH_TOKEN_EXPIRED', expiresAt: this.auth?.expiresAt ?? 0 };
    this.#end(SESSION_EXPIRED_EVENT, payload, 'expired');
  }

  /** Refuses it after the fact, with the code a verification failed with; the application's `onError` is told why. */
  refuse(error: AuthError): void {
    if (this.#ended !== undefined) return;
    reportRefusal(this.#guard.options.onError, error);
    if (error.code === 'ERR_AUTH_TOKEN_EXPIRED') this.expire();
    else this.revoke({ code: error.code, reason: 'unverified' }, error.reason);
  }

  /**
   * Asks the verifier whether the verified claims have been revoked since: a
   * synchronous lookup, no signature check. It closes the window between the
   * handshake's read() and the indexing, several awaits apart, and catches a
   * revocation the cache knows but whose event never arrived.
   */
  isRevoked(): boolean {
    const auth = this.auth;
    return auth !== undefined && this.#guard.verifier.isRevoked(auth.claims);
  }

  /** Refuses it if its session has been revoked; true if it was. */
  recheck(): boolean {
    if (!this.isRevoked()) return false;
    this.refuse(new AuthError('ERR_SESSION_REVOKED', undefined, 'revoked'));
    return true;
  }

  /** Makes its events wait for `work` (which must not reject) as well as for any check already pending. */
  hold(work: Promise<void>): void {
    const pending = this.#checking;
    const all: Promise<void> = (pending === undefined ? work : Promise.all([pending, work]).then(() => undefined)).finally(() => {
      if (this.#checking === all) this.#checking = undefined;
    });
    this.#checking = all;
  }

  /** The `socket.use` middleware: every incoming event passes here first. */
  middleware(): PacketMiddleware {
    return (packet, next) => this.#onPacket(packet, next);
  }

  #onPacket(packet: unknown[], next: (err?: Error) => void): void {
    // A check may start while another is awaited (a revocation during a recovery): wait for all.
    const checking = this.#checking;
    if (checking !== undefined) void checking.then(() => this.#onPacket(packet, next));
    else this.#admitPacket(packet, next);
  }

  /** Answers a `session:renew` (the last argument, if a function, is the ack); never throws. */
  onRenew(args: unknown[]): void {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (result: RenewResult) => void) : undefined;
    this.renew(args[0]).then(
      (result) => ack?.(result),
      (error: unknown) => {
        const failure = toAuthError(error);
        reportRefusal(this.#guard.options.onError, failure);
        const result: RenewResult = { ok: false, code: failure.code, message: failure.message };
        const nonce = dpopNonceFor(failure.code, this.#guard.dpop);
        if (nonce !== undefined) result.dpopNonce = nonce;
        ack?.(result);
      },
    );
  }

  #lifetimeMs(): number | undefined {
    const auth = this.auth;
    return auth === undefined ? undefined : (auth.expiresAt - auth.claims.iat) * 1000;
  }

  /** Swaps in a new access token of the same session: verified, provisioned, then the expiry follows its `exp`. */
  async renew(payload: unknown): Promise<RenewResult> {
    this.#renewals ??= new RenewalBucket(this.#guard.renewLimit, this.#guard.clock, () => this.#lifetimeMs());
    if (!this.#renewals.take()) throw new AuthError('ERR_RATE_LIMITED');
    const token = tokenOfRenewal(payload);
    if (token === undefined) throw new AuthError('ERR_AUTH_TOKEN_REQUIRED');
    const current = this.auth;
    // A bound token comes with a proof for the socket's endpoint, made for this token (`ath`).
    const proof = payload !== null && typeof payload === 'object' ? (payload as { dpop?: unknown }).dpop : undefined;
    const next = await verifyToken(this.#guard.verifier, token, this.#guard.options, this.#guard.dpop, (socket: AnySocket) => renewalProof(socket, proof), this.socket);
    if (current === undefined || next.sub !== current.sub || next.sessionId !== current.sessionId) throw new AuthError('ERR_SESSION_MISMATCH');
    // Revoked or expired while the new token was being verified.
    if (this.#ended !== undefined) throw new AuthError(this.#ended, undefined, this.#endedReason);
    this.socket.data.auth = next;
    this.arm();
    return { ok: true, expiresAt: next.expiresAt };
  }

  #admitPacket(packet: unknown[], next: (err?: Error) => void): void {
    if (this.#guard.closed) next();
    else if (this.#ended !== undefined) answerDropped(packet, this.#ended);
    else if (this.#isPastExpiry()) {
      // The timer may lag behind a busy event loop; the packet must not. The
      // ack goes first: once disconnected, the client drops late acks.
      answerDropped(packet, 'ERR_AUTH_TOKEN_EXPIRED');
      this.expire();
    } else if (this.isRevoked()) {
      // Two map lookups per packet: a lost broadcast or a listener that threw still cannot let events through.
      answerDropped(packet, 'ERR_SESSION_REVOKED');
      this.refuse(new AuthError('ERR_SESSION_REVOKED', undefined, 'revoked'));
    } else next();
  }

  #isPastExpiry(): boolean {
    const auth = this.auth;
    return auth !== undefined && auth.expiresAt * 1000 <= this.#guard.clock();
  }

  #end(event: string, payload: SessionRevokedPayload | SessionExpiredPayload, reason: AuthErrorReason): void {
    if (this.#ended !== undefined) return;
    this.#ended = payload.code;
    this.#endedReason = reason;
    this.dispose();
    // Sent before the DISCONNECT packet on the same transport, so the client reads why it was dropped.
    this.socket.emit(event, payload);
    this.socket.disconnect();
  }
}

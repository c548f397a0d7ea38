import { checkFreshness, checkFreshnessRequirement, freshnessChallenge, isSessionError, SessionError, type FreshnessRequirement } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from './authenticate.js';
import { AuthError, messageOf, reportRefusal, toAuthError } from './errors.js';
import type { HttpFailure } from './http-auth.js';

/*
 * Step-up (RFC 9470) for routes and events that need a recent authentication
 * ("change e-mail", "pay"), on top of the authentication the other guards did:
 * `httpAuth` / the Fastify plugin / the Hono middleware / `socketAuth` verify
 * the token and leave its claims in `auth`; this reads `auth_time`, `acr` and
 * `amr` from them (session-core's `checkFreshness`). A refusal is a 401 with
 * the RFC 9470 §3 challenge — `error="insufficient_user_authentication"`,
 * `max_age`, `acr_values`, under the `DPoP` scheme for a DPoP-bound token —
 * and the code ERR_AUTH_NOT_FRESH, which the client turns into a prompt to
 * re-enter the password, then `POST {base}/reauthenticate`, then a retry.
 */

export interface RequireFreshOptions extends FreshnessRequirement {
  /** The `realm` of the challenge. @default none */
  realm?: string;
  /** Told of each refusal (code, and `reason`: `auth_time`, `stale`, `acr`, `amr`), for your logs. What it throws is ignored. @default none */
  onError?: (error: AuthError) => void;
  /** ms since the epoch. @default Date.now */
  clock?: () => number;
  /** Seconds an `auth_time` may lie ahead of this clock (another server's) and still count. @default 5 */
  clockTolerance?: number;
}

/** The body of a step-up refusal: what to ask of the user, besides the code. */
export interface NotFreshBody {
  error: 'ERR_AUTH_NOT_FRESH' | 'ERR_AUTH_TOKEN_REQUIRED';
  message: string;
  /** Seconds: authenticate again, then retry within this long. */
  maxAge: number;
  /** The acceptable `acr` values (ask for one of them); absent when any will do. */
  acrValues?: string[];
}

/** One step-up check, built once per guard: `undefined` to let the request or event through, or the refusal. */
export type FreshCheck = (auth: AuthContext | undefined) => (HttpFailure & { body: NotFreshBody }) | undefined;

const OPTION_NAMES = new Set(['maxAge', 'acr', 'amr', 'realm', 'onError', 'clock', 'clockTolerance']);

function config(name: string, option: string, expected: string): AuthError {
  return AuthError.config(name, option, expected);
}

/** The options of a step-up guard, checked once: ERR_CONFIG_INVALID naming the option otherwise. */
function checkOptions(name: string, options: unknown): { requirement: Readonly<FreshnessRequirement>; o: RequireFreshOptions } {
  let requirement: Readonly<FreshnessRequirement>;
  try {
    requirement = checkFreshnessRequirement(options, name);
  } catch (error) {
    if (!isSessionError(error)) throw config(name, 'options', 'an object');
    const refused = new AuthError('ERR_CONFIG_INVALID', { cause: error }, 'option');
    refused.message = error.message;
    throw refused;
  }
  const o = options as RequireFreshOptions;
  for (const key of Object.keys(o)) if (!OPTION_NAMES.has(key)) throw config(name, key, 'an option of requireFresh (maxAge, acr, amr, realm, onError, clock, clockTolerance)');
  if (o.realm !== undefined && typeof o.realm !== 'string') throw config(name, 'realm', 'a string');
  if (o.onError !== undefined && typeof o.onError !== 'function') throw config(name, 'onError', 'a function');
  if (o.clock !== undefined && typeof o.clock !== 'function') throw config(name, 'clock', 'a function returning milliseconds');
  if (o.clockTolerance !== undefined && !(typeof o.clockTolerance === 'number' && Number.isFinite(o.clockTolerance) && o.clockTolerance >= 0)) {
    throw config(name, 'clockTolerance', 'a number of seconds (>= 0)');
  }
  return { requirement, o };
}

/**
 * The step-up check shared by every guard here (Express, Fastify, Hono,
 * Socket.IO events). Allocation-free when the session is fresh: it sits on
 * the hot path of the routes it guards.
 */
export function freshCheck(name: string, options: RequireFreshOptions): FreshCheck {
  const { requirement, o } = checkOptions(name, options);
  const clock = o.clock ?? Date.now;
  const tolerance = o.clockTolerance ?? 5;
  const { realm, onError } = o;
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const body = (error: NotFreshBody['error']): NotFreshBody => {
    const b: NotFreshBody = { error, message: messageOf(error), maxAge: requirement.maxAge };
    if (requirement.acr !== undefined) b.acrValues = [...requirement.acr];
    return b;
  };
  return (auth) => {
    // Placed before the authentication, or after one with credentialsRequired: false and no token: no one to check.
    if (auth === undefined || auth === null || typeof auth !== 'object' || auth.claims === null || typeof auth.claims !== 'object') {
      if (onError !== undefined) reportRefusal(onError, new AuthError('ERR_AUTH_TOKEN_REQUIRED'));
      return { status: 401, headers: { ...headers, 'www-authenticate': realm === undefined ? 'Bearer' : `Bearer realm="${realm.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')}"` }, body: body('ERR_AUTH_TOKEN_REQUIRED') };
    }
    try {
      checkFreshness(auth.claims, requirement, clock(), tolerance);
      return undefined;
    } catch (thrown) {
      if (onError !== undefined) reportRefusal(onError, toAuthError(isSessionError(thrown) ? thrown : new SessionError('ERR_AUTH_NOT_FRESH', undefined, undefined, 'auth_time')));
      return { status: 401, headers: { ...headers, 'www-authenticate': freshnessChallenge(requirement, auth.claims, realm) }, body: body('ERR_AUTH_NOT_FRESH') };
    }
  };
}

/**
 * Express / connect middleware: lets the request through when `req.auth`
 * (set by `httpAuth` before it) shows an authentication at most `maxAge`
 * seconds old, with one of the `acr` values and every `amr` method asked for;
 * otherwise answers 401 with RFC 9470's challenge and `{ error:
 * 'ERR_AUTH_NOT_FRESH', message, maxAge, acrValues? }`. A missing `auth_time`
 * is not fresh. Without `req.auth`: 401 ERR_AUTH_TOKEN_REQUIRED.
 *
 * @example
 * app.post('/account/email', httpAuth(manager), requireFresh({ maxAge: 300 }), changeEmail);
 */
export function requireFresh(options: RequireFreshOptions): (req: IncomingMessage & { auth?: AuthContext | undefined }, res: ServerResponse, next: (err?: unknown) => void) => void {
  const check = freshCheck('requireFresh', options);
  return (req, res, next) => {
    const refusal = check(req.auth);
    if (refusal === undefined) return next();
    try {
      res.statusCode = refusal.status;
      for (const name in refusal.headers) res.setHeader(name, refusal.headers[name]!);
      res.end(JSON.stringify(refusal.body));
    } catch (error) {
      next(toAuthError(error));
    }
  };
}

/** Server → client when an event was refused for want of a recent authentication and came without an ack. */
export const SESSION_NOT_FRESH_EVENT = 'session:not-fresh';

/** The ack of a refused event (or the payload of {@link SESSION_NOT_FRESH_EVENT}, with `event`). */
export interface NotFreshAnswer {
  ok: false;
  code: 'ERR_AUTH_NOT_FRESH' | 'ERR_AUTH_TOKEN_REQUIRED';
  message: string;
  maxAge: number;
  acrValues?: string[];
}

interface SocketLike {
  data: { auth?: AuthContext | undefined } | undefined;
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
}

/**
 * Socket.IO: step-up per event. A namespace middleware (`io.use(...)`, after
 * `socketAuth`) that checks, on every incoming packet of the events named, the
 * socket's current claims (`socket.data.auth`, which a `session:renew`
 * replaces): a stale session's event is dropped — never reaches its handler —
 * and answered through its ack with `{ ok: false, code: 'ERR_AUTH_NOT_FRESH',
 * message, maxAge, acrValues? }`, or, without an ack, by a
 * `session:not-fresh` event carrying the same and the event's name. The socket
 * stays connected: the client re-authenticates over HTTP, renews its token on
 * the socket (`session:renew`) and sends again. Events not named pass untouched.
 *
 * @example
 * io.use(socketAuth(manager));
 * io.use(requireFreshEvents({ transfer: { maxAge: 300, amr: ['otp'] } }));
 */
export function requireFreshEvents(events: Record<string, RequireFreshOptions>): (socket: SocketLike, next: (err?: Error) => void) => void {
  if (events === null || typeof events !== 'object') throw config('requireFreshEvents', 'events', 'an object of event names and requireFresh options');
  const checks = new Map<string, FreshCheck>();
  for (const event of Object.keys(events)) checks.set(event, freshCheck(`requireFreshEvents (${/^[\x20-\x7e]{1,64}$/.test(event) ? event : 'an event'})`, events[event]!));
  if (checks.size === 0) throw config('requireFreshEvents', 'events', 'an object naming at least one event');
  return (socket, next) => {
    socket.use((packet, admit) => {
      const check = typeof packet[0] === 'string' ? checks.get(packet[0]) : undefined;
      const refusal = check?.(socket.data?.auth);
      if (refusal === undefined) return admit();
      const { error: code, ...rest } = refusal.body;
      const answer: NotFreshAnswer = { ok: false, code, ...rest };
      const ack = packet[packet.length - 1];
      if (typeof ack === 'function') (ack as (answer: NotFreshAnswer) => void)(answer);
      else socket.emit(SESSION_NOT_FRESH_EVENT, { ...answer, event: packet[0] });
    });
    next();
  };
}

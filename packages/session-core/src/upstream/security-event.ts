import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { SessionError, isSessionError, reasonOf, type SessionErrorReason } from '../errors.js';
import { invalidAccessToken } from '../lib/access-token.js';
import { checkHttpUrl } from '../lib/http-url.js';
import { isWellFormedJws } from '../lib/token-syntax.js';
import { checkTelemetry, fail } from '../options.js';
import type { DpopReplayCache } from '../dpop/replay.js';
import { createTelemetry, type TelemetryOption } from '../telemetry/telemetry.js';
import { joseReason } from '../verifier/jose-reason.js';
import { MAX_UPSTREAM_ID_LENGTH, MAX_UPSTREAM_ISSUER_LENGTH } from './identity.js';
import { LOGOUT_TOKEN_ALGORITHMS, MAX_LOGOUT_TOKEN_LENGTH, type LogoutTokenAlgorithm } from './logout-token.js';
import { ProviderKeys } from './provider-keys.js';
import type { UpstreamSelector } from './types.js';

/*
 * Shared Signals (OpenID SSF 1.0) events pushed to the application (RFC 8935
 * push delivery of RFC 8417 Security Event Tokens), CAEP and RISC: a SET is
 * checked as a logout token is (signature by the transmitter's keys, iss,
 * aud, iat, a jti accepted once), then each event it carries is applied:
 * `session-revoked` ends the linked session, `credential-change`,
 * `account-disabled`, `sessions-revoked` and `tokens-revoked` end every
 * session of the subject, and any other event type is accepted, ignored and
 * counted. Subjects are RFC 9493 Subject Identifiers: `iss_sub` directly,
 * `email`, `opaque` (and any other format) through the application's
 * `resolveSubject`, and `complex` with its `user` and `session`.
 */

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
/** The event types that end sessions, and what each ends. */
export const SESSION_ENDING_EVENTS: Readonly<Record<string, 'session' | 'subject'>> = Object.freeze({
  [`${CAEP}session-revoked`]: 'session',
  [`${CAEP}credential-change`]: 'subject',
  [`${RISC}account-disabled`]: 'subject',
  [`${RISC}sessions-revoked`]: 'subject',
  [`${RISC}tokens-revoked`]: 'subject',
  [`${RISC}credential-compromise`]: 'subject',
});

/** RFC 8935 §2.4 error codes (the ones a receiver answers with). */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed';

/** An RFC 9493 Subject Identifier, as far as this receiver reads one. */
export type SubjectIdentifier = { format: string; [member: string]: unknown };

export interface SetTransmitter {
  /** The transmitter's issuer, exactly as its SETs' `iss`. */
  issuer: string;
  /** What its SETs' `aud` must hold: this receiver's audience at the transmitter. */
  audience: string;
  /** Its JWK Set URL; without it, `jwks_uri` from `{issuer}/.well-known/openid-configuration`. */
  jwksUrl?: string | URL;
  /** @default ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] */
  algorithms?: LogoutTokenAlgorithm[];
}

export interface SecurityEventReceiverOptions {
  transmitters: SetTransmitter[];
  /** Where accepted `jti`s are remembered (the DPoP replay cache serves). */
  replayCache: DpopReplayCache;
  /**
   * Maps a subject that is not `iss_sub` (an `email`, an `opaque` id, a
   * `phone_number`…) to the provider identity sessions were linked with, or
   * undefined when it names nobody known here (the event is then ignored).
   */
  resolveSubject?: (subject: SubjectIdentifier, transmitter: string) => { issuer: string; subject: string } | undefined | Promise<{ issuer: string; subject: string } | undefined>;
  /** Seconds: how old a SET's `iat` may be (push delivery retries). @default 3600 */
  maxAge?: number;
  /** @default 5 */
  clockTolerance?: number;
  /** @default false */
  allowInsecureUrls?: boolean;
  /** @default Date.now */
  clock?: () => number;
  /** `jwt_session.upstream.security_events{outcome, event?}`; `false` turns it off. */
  telemetry?: TelemetryOption;
}

/** What a SET came to: each event, applied or ignored, and the sessions ended. */
export interface SecurityEventResult {
  ended: number;
  events: { type: string; applied: boolean }[];
}

/** A refusal of a SET: a SessionError with the RFC 8935 code to answer. */
export class SetRefusal extends SessionError {
  readonly setError: SetErrorCode;
  constructor(setError: SetErrorCode, reason: SessionErrorReason) {
    super('ERR_AUTH_TOKEN_INVALID', undefined, undefined, reason);
    this.setError = setError;
  }
}

/** The RFC 8935 code for a refusal's reason. */
export function setErrorOf(error: unknown): SetErrorCode {
  if (error instanceof SetRefusal) return error.setError;
  switch (reasonOf(error)) {
    case 'signature':
    case 'unknown_key':
    case 'unusable_key':
    case 'algorithm':
      return 'invalid_key';
    case 'issuer':
      return 'invalid_issuer';
    case 'audience':
      return 'invalid_audience';
    default:
      return 'invalid_request';
  }
}

interface Transmitter {
  issuer: string;
  audience: string;
  algorithms: string[];
  keys: ProviderKeys;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const DEFAULT_ALGORITHMS: LogoutTokenAlgorithm[] = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/**
 * Receives pushed Security Event Tokens and ends the sessions they name.
 *
 * @example
 * ```ts
 * const receiver = new SecurityEventReceiver({
 *   transmitters: [{ issuer: 'https://idp.example.com', audience: 'https://app.example.com' }],
 *   replayCache,
 *   resolveSubject: async (subject) => (subject.format === 'email' ? users.providerIdentityByEmail(subject.email) : undefined),
 * });
 * const { ended } = await receiver.receive(manager, set);
 * ```
 */
export class SecurityEventReceiver {
  readonly #transmitters = new Map<string, Transmitter>();
  readonly #replay: DpopReplayCache;
  readonly #resolve: SecurityEventReceiverOptions['resolveSubject'];
  readonly #maxAge: number;
  readonly #tolerance: number;
  readonly #clock: () => number;
  readonly #counter: { add(value: number, attributes: Record<string, string>): void };

  constructor(options: SecurityEventReceiverOptions) {
    if (!isObject(options)) fail('options', 'must be an object');
    const o = options as unknown as Record<string, unknown>;
    const clock = (o.clock ?? Date.now) as () => number;
    if (typeof clock !== 'function') fail('clock', 'must be a function returning milliseconds');
    const allowInsecure = o.allowInsecureUrls === true;
    if (o.allowInsecureUrls !== undefined && typeof o.allowInsecureUrls !== 'boolean') fail('allowInsecureUrls', 'must be a boolean');
    const timing = { cooldown: 30_000, cacheMaxAge: 600_000, maxStaleAge: 86_400_000, timeout: 5000, maxBytes: 131_072 };
    if (!Array.isArray(o.transmitters) || o.transmitters.length === 0) fail('transmitters', 'must be a non-empty list');
    (o.transmitters as unknown[]).forEach((t, at) => {
      const name = `transmitters[${at}]`;
      if (!isObject(t) || !text(t.issuer, MAX_UPSTREAM_ISSUER_LENGTH) || !text(t.audience, 1024)) fail(name, 'must be { issuer, audience, jwksUrl?, algorithms? }');
      const algorithms = (t.algorithms ?? DEFAULT_ALGORITHMS) as unknown;
      if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (LOGOUT_TOKEN_ALGORITHMS as readonly unknown[]).includes(a))) fail(`${name}.algorithms`, `must be a non-empty list of ${LOGOUT_TOKEN_ALGORITHMS.join(', ')}`);
      const url = t.jwksUrl === undefined ? undefined : checkHttpUrl(t.jwksUrl, `${name}.jwksUrl`, allowInsecure, 'allowInsecureUrls');
      if (url === undefined) checkHttpUrl(t.issuer, `${name}.issuer`, allowInsecure, 'allowInsecureUrls');
      if (this.#transmitters.has(t.issuer as string)) fail(`${name}.issuer`, 'is listed twice');
      this.#transmitters.set(t.issuer as string, { issuer: t.issuer as string, audience: t.audience as string, algorithms: [...(algorithms as string[])], keys: new ProviderKeys(t.issuer as string, url, timing, clock, allowInsecure) });
    });
    if (typeof (o.replayCache as DpopReplayCache | undefined)?.remember !== 'function') fail('replayCache', 'must be a DpopReplayCache (remember(key, ttl))');
    this.#replay = o.replayCache as DpopReplayCache;
    if (o.resolveSubject !== undefined && typeof o.resolveSubject !== 'function') fail('resolveSubject', 'must be a function');
    this.#resolve = o.resolveSubject as SecurityEventReceiverOptions['resolveSubject'];
    for (const name of ['maxAge', 'clockTolerance'] as const) {
      const v = o[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) fail(name, 'must be a finite number >= 0');
    }
    this.#maxAge = (o.maxAge as number | undefined) ?? 3600;
    this.#tolerance = (o.clockTolerance as number | undefined) ?? 5;
    this.#clock = clock;
    this.#counter = createTelemetry(checkTelemetry(o.telemetry)).counter('jwt_session.upstream.security_events', 'pushed security events by outcome (and event type when accepted)');
  }

  /** Counts an outcome an endpoint decided before {@link receive} (a wrong content type, a body too large). */
  count(outcome: 'refused' | 'unavailable' | 'applied' | 'ignored', detail?: string): void {
    this.#counter.add(1, detail === undefined ? { outcome } : { outcome, detail });
  }

  /**
   * Checks the SET (RFC 8417, RFC 8935 §2), records its `jti`, and applies
   * its events. Rejects with a {@link SetRefusal} / SessionError (the RFC
   * 8935 code: {@link setErrorOf}) or ERR_STORAGE_UNAVAILABLE (the jti is
   * then released: the transmitter's retry is not a replay).
   */
  async receive(manager: { revokeUpstream(selector: UpstreamSelector): Promise<number> }, token: unknown): Promise<SecurityEventResult> {
    try {
      const result = await this.#receive(manager, token);
      // The transmitter names event types: unknown ones are counted as one, so a label never takes the token's text.
      for (const e of result.events) this.count(e.applied ? 'applied' : 'ignored', Object.hasOwn(SESSION_ENDING_EVENTS, e.type) ? e.type : 'unknown');
      return result;
    } catch (error) {
      this.count(isSessionError(error, 'ERR_STORAGE_UNAVAILABLE') ? 'unavailable' : 'refused', reasonOf(error));
      throw error;
    }
  }

  async #receive(manager: { revokeUpstream(selector: UpstreamSelector): Promise<number> }, token: unknown): Promise<SecurityEventResult> {
    if (typeof token !== 'string' || token.length > MAX_LOGOUT_TOKEN_LENGTH || !isWellFormedJws(token)) throw new SetRefusal('invalid_request', 'malformed');
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new SetRefusal('invalid_request', 'malformed');
    }
    const t = typeof unverified.iss === 'string' ? this.#transmitters.get(unverified.iss) : undefined;
    if (t === undefined) throw new SetRefusal('invalid_issuer', 'issuer');
    if (typeof header.alg !== 'string' || !t.algorithms.includes(header.alg)) throw new SetRefusal('invalid_key', 'algorithm');
    // RFC 8417 §2.3: explicit typing `secevent+jwt`, so no other JWT of the issuer passes as a SET.
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
    if (typ !== 'secevent+jwt') throw new SetRefusal('invalid_request', 'type');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, t.keys.getKey, {
        algorithms: t.algorithms,
        issuer: t.issuer,
        audience: t.audience,
        clockTolerance: this.#tolerance,
        maxTokenAge: this.#maxAge,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(this.#clock()),
      }));
    } catch (error) {
      if (isSessionError(error)) throw error;
      const reason = joseReason(error);
      throw new SetRefusal(setErrorOf(invalidAccessToken(reason)), reason);
    }
    // RFC 8417 §2.2: `events` is a JSON object of one or more event types, each an object.
    const events = payload.events;
    if (!isObject(events) || Object.keys(events).length === 0 || !Object.values(events).every(isObject)) throw new SetRefusal('invalid_request', 'events');
    if (!text(payload.jti, 256)) throw new SetRefusal('invalid_request', 'invalid_claim');
    // Subjects resolved before the jti is recorded: a hook that fails leaves the SET unrecorded, so the retry is applied.
    const plan: { type: string; selector: UpstreamSelector | undefined }[] = [];
    for (const [type, body] of Object.entries(events as Record<string, Record<string, unknown>>)) {
      const kind = SESSION_ENDING_EVENTS[type];
      if (kind === undefined) {
        plan.push({ type, selector: undefined });
        continue;
      }
      // SSF 1.0 puts the subject in `sub_id`; CAEP's earlier profile in the event's `subject`.
      const subject = body.subject ?? (payload as { sub_id?: unknown }).sub_id;
      plan.push({ type, selector: await this.#selector(subject, kind, t.issuer) });
    }
    const key = createHash('sha256').update(`security-event\u0000${t.issuer}\u0000${payload.jti}`, 'utf8').digest('base64url');
    let outcome: unknown;
    try {
      outcome = await this.#replay.remember(key, (this.#maxAge + 2 * this.#tolerance + 1) * 1000);
    } catch (cause) {
      throw isSessionError(cause, 'ERR_STORAGE_UNAVAILABLE') ? cause : new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause }, 'store');
    }
    if (outcome === 'replayed') throw new SetRefusal('invalid_request', 'replayed');
    if (outcome !== 'fresh') throw new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, undefined, 'store');
    try {
      let ended = 0;
      const out: SecurityEventResult['events'] = [];
      for (const step of plan) {
        if (step.selector !== undefined) ended += await manager.revokeUpstream(step.selector);
        out.push({ type: step.type, applied: step.selector !== undefined });
      }
      return { ended, events: out };
    } catch (error) {
      await this.#replay.forget?.(key).catch(() => undefined);
      throw error;
    }
  }

  /** The sessions an event's subject names; undefined when it names nobody known here (ignored). */
  async #selector(subject: unknown, kind: 'session' | 'subject', transmitter: string): Promise<UpstreamSelector | undefined> {
    if (!isObject(subject) || typeof subject.format !== 'string') throw new SetRefusal('invalid_request', 'missing_claim');
    if (subject.format === 'complex') {
      // RFC 9493 §3.2.2 / SSF: a `session` member names the provider session; `user` its user.
      const session = subject.session;
      const user = subject.user === undefined ? undefined : await this.#selector(subject.user, 'subject', transmitter);
      if (kind === 'session' && isObject(session) && text(session.id, MAX_UPSTREAM_ID_LENGTH)) {
        return { issuer: user?.issuer ?? (text(session.iss, MAX_UPSTREAM_ISSUER_LENGTH) ? session.iss : transmitter), sessionId: session.id };
      }
      return user;
    }
    if (subject.format === 'iss_sub') {
      if (!text(subject.iss, MAX_UPSTREAM_ISSUER_LENGTH) || !text(subject.sub, MAX_UPSTREAM_ID_LENGTH)) throw new SetRefusal('invalid_request', 'invalid_claim');
      return { issuer: subject.iss, subject: subject.sub };
    }
    // email, opaque, phone_number, …: the application knows whom they name.
    if (this.#resolve === undefined) return undefined;
    let resolved: { issuer: string; subject: string } | undefined;
    try {
      resolved = await this.#resolve(subject as SubjectIdentifier, transmitter);
    } catch (cause) {
      throw new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause }, 'store');
    }
    if (resolved === undefined) return undefined;
    if (!text(resolved.issuer, MAX_UPSTREAM_ISSUER_LENGTH) || !text(resolved.subject, MAX_UPSTREAM_ID_LENGTH)) throw new SessionError('ERR_CONFIG_INVALID', 'resolveSubject must return { issuer, subject } or undefined', undefined, 'option');
    return { issuer: resolved.issuer, subject: resolved.subject };
  }
}

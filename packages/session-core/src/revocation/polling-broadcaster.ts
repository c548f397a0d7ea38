import { SessionError } from '../errors.js';
import { readJson } from '../lib/capped-body.js';
import { checkHttpUrl } from '../lib/http-url.js';
import { configChecked, fail } from '../options.js';
import type { InvalidationBroadcaster, InvalidationReceiver, InvalidationSubscription } from '../storage.js';
import { assertInvalidationReceiver, parseInvalidationEvent } from './event.js';
import { REVOCATION_LOG_CURSOR } from './log.js';

export interface PollingInvalidationBroadcasterOptions {
  /**
   * The origin's revocation log: `GET {base}/revocations` of `@jwt-session/http`
   * (e.g. `https://auth.example.com/auth/revocations`). Must be `https:`, except
   * for a loopback host or with `allowInsecureUrl`: the secret travels with
   * every poll.
   */
  url: string | URL;
  /** Accept an `http:` url on a host other than loopback. @default false */
  allowInsecureUrl?: boolean;
  /** The origin's `revocations.secret`, sent as `Authorization: Bearer <secret>`. */
  secret: string;
  /** ms from the start of one poll to the start of the next. @default 1000 */
  interval?: number;
  /** ms: after n failed polls in a row the next waits interval·2^n, at most this. @default 30000 */
  maxBackoff?: number;
  /** ms one request, body included, may take. @default 5000 */
  timeout?: number;
  /** Bytes of an answer's body accepted; a larger one is a failed poll. @default 4194304 */
  maxBytes?: number;
  /**
   * Poll on a timer of its own (`true`), or only when `sync()` (or a
   * subscription's first `ready()`) is called (`false`): on Cloudflare Workers,
   * whose timers do not outlive the request that set them. @default true
   */
  timers?: boolean;
  /** The fetch the polls go through, e.g. a Worker's service binding (`env.ORIGIN.fetch.bind(env.ORIGIN)`). @default globalThis.fetch */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
  /** ms since the epoch; events whose `expiresAt` has passed are not delivered. @default Date.now */
  clock?: () => number;
}

/**
 * Why one poll failed, for the operator (an HTTP status, a timeout, a
 * malformed answer): the `cause` of ERR_STORAGE_UNAVAILABLE. Never holds the
 * secret or the body.
 */
export class RevocationPollError extends Error {
  override readonly name = 'RevocationPollError';
}

interface Normalized {
  url: URL;
  authorization: string;
  interval: number;
  maxBackoff: number;
  timeout: number;
  maxBytes: number;
  timers: boolean;
  fetch: (input: URL, init: RequestInit) => Promise<Response>;
  clock: () => number;
}

const OPTION_NAMES = new Set(['url', 'allowInsecureUrl', 'secret', 'interval', 'maxBackoff', 'timeout', 'maxBytes', 'timers', 'fetch', 'clock']);
/** What the origin accepts as a secret (see `revocations.secret` in @jwt-session/http). */
const SECRET = /^[A-Za-z0-9\-._~+/]{32,512}$/;

function positive(o: Record<string, unknown>, name: string, fallback: number, integer = false): number {
  const value = o[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) fail(name, `must be a positive ${integer ? 'integer' : 'number of milliseconds'}`);
  return value;
}

function normalize(input: unknown): Normalized {
  if (input === null || typeof input !== 'object') fail('', 'must be an object with url and secret');
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_NAMES.has(key)) fail(/^[A-Za-z_$][\w$]{0,40}$/.test(key) ? key : '', 'is not an option');
  const allowInsecure = o.allowInsecureUrl ?? false;
  if (typeof allowInsecure !== 'boolean') fail('allowInsecureUrl', 'must be a boolean');
  const url = checkHttpUrl(o.url, 'url', allowInsecure, 'allowInsecureUrl');
  // Never quoted back: the message must not carry the secret.
  if (typeof o.secret !== 'string' || !SECRET.test(o.secret)) fail('secret', 'must be 32 to 512 characters of A-Z a-z 0-9 - . _ ~ + /');
  const interval = positive(o, 'interval', 1000);
  const maxBackoff = positive(o, 'maxBackoff', Math.max(30_000, interval));
  if (maxBackoff < interval) fail('maxBackoff', 'must not be shorter than options.interval');
  const timers = o.timers ?? true;
  if (typeof timers !== 'boolean') fail('timers', 'must be a boolean');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') fail('fetch', 'must be a function');
  if (o.clock !== undefined && typeof o.clock !== 'function') fail('clock', 'must be a function returning milliseconds');
  const own = o.fetch as Normalized['fetch'] | undefined;
  return {
    url,
    authorization: `Bearer ${o.secret}`,
    interval,
    maxBackoff,
    timeout: positive(o, 'timeout', 5000),
    maxBytes: positive(o, 'maxBytes', 4 * 1024 * 1024, true),
    timers,
    // Looked up at each call: a runtime (or a test) may install its fetch after construction.
    fetch: own ?? ((target, init) => fetch(target, init)),
    clock: (o.clock as (() => number) | undefined) ?? Date.now,
  };
}

/** One answer of the origin: what is new after the cursor, the next cursor, whether more waits. */
interface Page {
  entries: unknown[];
  next: string;
  more: boolean;
}

function unavailable(why: string, cause?: unknown): SessionError {
  return new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, { cause: new RevocationPollError(why, cause === undefined ? undefined : { cause }) }, 'broadcast');
}

/**
 * One receiver's view of the origin's log: its own cursor (the last entry it
 * applied), polled from the start on the first poll, so it is replayed what
 * is still in force, as a Redis subscription is. Polls one at a time; a
 * `sync()` during a poll waits for that poll.
 */
class PollingSubscription implements InvalidationSubscription {
  readonly #o: Normalized;
  readonly #receiver: InvalidationReceiver;
  readonly #forget: (s: PollingSubscription) => void;
  #cursor: string | undefined;
  #caughtUp = false;
  #failures = 0;
  /** The last poll's failure, until a poll succeeds. */
  #failure: SessionError | undefined;
  /** When the next poll is due (Date.now ms). */
  #due = 0;
  #inflight: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #open = true;

  constructor(o: Normalized, receiver: InvalidationReceiver, forget: (s: PollingSubscription) => void) {
    this.#o = o;
    this.#receiver = receiver;
    this.#forget = forget;
    if (o.timers) this.#schedule(0);
  }

  async publish(): Promise<void> {
    throw new SessionError('ERR_CONFIG_INVALID', 'publish(): a PollingInvalidationBroadcaster only receives; revoke at the origin', undefined, 'option');
  }

  /**
   * Resolves once a poll has applied everything the origin had when it was
   * asked (at once after that); rejects with ERR_STORAGE_UNAVAILABLE (reason
   * `broadcast`) when that poll failed. Polling goes on: a later call waits
   * for a later poll.
   */
  ready(): Promise<void> {
    return this.#caughtUp ? Promise.resolve() : this.sync();
  }

  /**
   * Polls now when a poll is due (`interval` after the last one started; after
   * failures, the backoff) and resolves once it applied what it read. Between
   * polls it resolves at once, or rejects with the last poll's failure while
   * the backoff runs.
   */
  async sync(): Promise<void> {
    if (!this.#open) return;
    if (this.#inflight === undefined && Date.now() >= this.#due) this.#poll();
    const inflight = this.#inflight;
    try {
      await inflight;
    } catch {
      // A poll never rejects, except on workerd, to a request joining a poll whose own request has ended: it can
      // never settle there, so this request polls itself rather than leave every later sync() waiting on it.
      if (this.#inflight === inflight && this.#open) {
        this.#poll();
        await this.#inflight;
      }
    }
    if (this.#open && this.#failure !== undefined) throw this.#failure;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#forget(this);
    await this.#inflight;
  }

  #poll(): void {
    clearTimeout(this.#timer);
    this.#inflight = this.#cycle().finally(() => {
      this.#inflight = undefined;
      if (this.#o.timers && this.#open) this.#schedule(Math.max(0, this.#due - Date.now()));
    });
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#open && this.#inflight === undefined) this.#poll();
    }, ms);
    // A Node process is not kept alive by its poller alone (as a Redis subscription's retry timer).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Reads pages until the origin has nothing more; never rejects (the failure is kept for sync()). */
  async #cycle(): Promise<void> {
    const started = Date.now();
    try {
      for (;;) {
        const page = await this.#fetch();
        if (!this.#open) return;
        this.#apply(page);
        if (!page.more) break;
      }
      this.#failures = 0;
      this.#failure = undefined;
      this.#caughtUp = true;
      this.#due = started + this.#o.interval;
    } catch (error) {
      if (!this.#open) return;
      this.#failures++;
      this.#failure = error instanceof SessionError ? error : unavailable('the poll failed', error);
      this.#due = Date.now() + Math.min(this.#o.maxBackoff, this.#o.interval * 2 ** this.#failures);
    }
  }

  async #fetch(): Promise<Page> {
    const target = new URL(this.#o.url);
    const headers: Record<string, string> = { authorization: this.#o.authorization, accept: 'application/json' };
    if (this.#cursor !== undefined) {
      target.searchParams.set('after', this.#cursor);
      // RFC 9110 §13.1.2: the origin answers 304 when its cursor is still this one.
      headers['if-none-match'] = `"${this.#cursor}"`;
    }
    const abort = (this.#abort = new AbortController());
    const timer = setTimeout(() => abort.abort(), this.#o.timeout);
    try {
      let response: Response;
      try {
        // Redirects are not followed: the secret goes to the configured URL only.
        response = await this.#o.fetch(target, { method: 'GET', headers, redirect: 'manual', signal: abort.signal });
      } catch (cause) {
        throw unavailable(abort.signal.aborted ? `no answer within ${this.#o.timeout} ms` : 'the request failed', cause);
      }
      if (response.status === 304 && this.#cursor !== undefined) {
        await response.body?.cancel().catch(() => undefined);
        return { entries: [], next: this.#cursor, more: false };
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw unavailable(`the origin answered HTTP ${response.status}, not 200`);
      }
      let body: unknown;
      try {
        body = await readJson(response.body, this.#o.maxBytes, () => unavailable(`the answer is larger than ${this.#o.maxBytes} bytes`));
      } catch (error) {
        throw error instanceof SessionError ? error : unavailable(abort.signal.aborted ? `no answer within ${this.#o.timeout} ms` : 'the answer is not JSON', error);
      }
      return pageOf(body);
    } finally {
      clearTimeout(timer);
    }
  }

  #apply(page: Page): void {
    const now = this.#o.clock();
    for (const entry of page.entries) {
      // Each event is checked as every broadcaster checks what it receives; a bad one is skipped, not thrown on.
      const event = parseInvalidationEvent((entry as { event?: unknown } | null)?.event);
      if (event === undefined || event.expiresAt <= now) continue;
      try {
        if (event.type === 'session') this.#receiver.restrictOne(event);
        else this.#receiver.restrictAll(event);
      } catch {
        // A receiver that throws must not stop the events after this one.
      }
    }
    this.#cursor = page.next;
  }
}

/** The answer's shape (`RevocationLogBody` of @jwt-session/http); a poll that gets anything else failed. */
function pageOf(body: unknown): Page {
  const b = body as Partial<Page> | null;
  if (b === null || typeof b !== 'object' || !Array.isArray(b.entries) || typeof b.more !== 'boolean' || typeof b.next !== 'string' || !REVOCATION_LOG_CURSOR.test(b.next)) {
    throw unavailable('the answer is not a page of the revocation log');
  }
  return { entries: b.entries, next: b.next, more: b.more };
}

/**
 * Follows an origin's revocation log over HTTP, for a verifier that cannot
 * reach the origin's Redis or PostgreSQL: a Cloudflare Worker, Deno Deploy, a
 * browser-side service. Web APIs only (fetch, AbortController, URL). Each
 * subscription polls `GET {base}/revocations?after=<cursor>` of
 * `@jwt-session/http` every `interval` ms, with the shared secret, resuming
 * from the last entry it applied; a poll that finds nothing new is a 304. On
 * failures it waits interval·2^n (at most `maxBackoff`) and resumes from
 * where it was. A revocation made at the origin is so enforced within
 * `interval` plus one round trip.
 *
 * It only receives: `publish` rejects (revocations are made at the origin).
 *
 * @example
 * ```ts
 * // Node, Bun, Deno: polls on its own timer.
 * const broadcaster = new PollingInvalidationBroadcaster({ url: 'https://auth.example.com/auth/revocations', secret: process.env.REVOCATIONS_SECRET! });
 * const verifier = new JwtSessionVerifier({ ..., broadcaster });
 * await verifier.ready();
 *
 * // A Cloudflare Worker: no timers outlive a request, so each request polls when one is due.
 * const broadcaster = new PollingInvalidationBroadcaster({ url: env.REVOCATIONS_URL, secret: env.REVOCATIONS_SECRET, timers: false });
 * // in fetch(): await broadcaster.sync(); then verifier.read(token)
 * ```
 */
export class PollingInvalidationBroadcaster implements InvalidationBroadcaster {
  readonly #o: Normalized;
  readonly #subscriptions = new Set<PollingSubscription>();

  constructor(options: PollingInvalidationBroadcasterOptions) {
    this.#o = configChecked(() => normalize(options));
  }

  subscribe(receiver: InvalidationReceiver): InvalidationSubscription {
    assertInvalidationReceiver(receiver);
    const subscription = new PollingSubscription(this.#o, receiver, (s) => this.#subscriptions.delete(s));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Brings every subscription up to date: each polls when one is due and this
   * resolves once they applied what they read; at once when none is due.
   * Rejects with ERR_STORAGE_UNAVAILABLE (reason `broadcast`, the cause says
   * why) while the origin cannot be read: then the revocations made since the
   * last good poll are not known here, and the caller decides (answer 503, or
   * accept the staleness). In a Worker (`timers: false`), call it at the start
   * of each request.
   */
  async sync(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.sync()));
  }

  /** Closes every subscription: no poll after this; one in flight is aborted. */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }
}

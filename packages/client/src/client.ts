import { SessionClientError, errorOf } from './errors.js';
import { revokedReason } from './socket.js';
import { deleteKey, loadKey, newKey, proof, saveKey, serverSkew, type DpopKey } from './dpop.js';
import type { ChannelLike, LockManagerLike, SessionBody, SessionClientEvents, SessionClientOptions, SessionView, SignedOutReason, SocketLike, StepUpChallenge } from './types.js';

/** The header every call to a session endpoint carries (the server's CSRF check). */
export const CSRF_HEADER = 'x-jwt-session';

/** What a bound socket is told: see attachSocket. */
type SocketNotice = (token?: string | null) => void;

/** Between the tabs of one browser, over the BroadcastChannel. `l`: the token's full lifetime, ms. */
type Message = { t: 'ok'; b: SessionBody; l: number } | { t: 'fail' | 'rot' } | { t: 'out' | 'ending'; s: string; r?: SignedOutReason };

interface Globals {
  fetch?: typeof fetch;
  location?: { href: string };
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike & { unref?(): void };
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}
const global = globalThis as unknown as Globals;
const now = (): number => performance.now();
/** How long a sibling's "I am signing out" makes a socket revocation read as `signed-out`. */
const ENDING_MS = 5000;
/** How long a timed renewal that got the lock at once waits for a sibling's just-posted result. */
const SIBLING_SETTLE_MS = 100;
/** Longest wait, after a queued lock, for the previous holder's result before rotating anyway. */
const HOLDER_GRACE_MS = 3000;
/** setTimeout's longest delay (2^31-1 ms, 24.8 days): a longer one fires at once. A token that lives longer is renewed then. */
const MAX_DELAY = 2 ** 31 - 1;
/** The longest `expiresIn` taken, in seconds (400 days, the browsers' cap on the refresh cookie): more is a broken server. */
const MAX_EXPIRES_IN = 34_560_000;
/** Timed renewals come at least this far apart (ms); while tokens keep arriving already due, the gap doubles to 60 s. */
const RENEW_FLOOR = 1000;
const sane = (seconds: number): boolean => seconds >= 0 && seconds <= MAX_EXPIRES_IN;
/** What relative URLs resolve against where there is no page (Node): a name that never resolves (RFC 2606). */
const NO_PAGE = 'http://x.invalid';

/** Reports a bug of the app's code (a listener, a handler) as uncaught, without breaking what called it. */
const report = (error: unknown): false => {
  queueMicrotask(() => {
    throw error;
  });
  return false;
};

/** The request never got an answer (offline, DNS, CORS): ERR_NETWORK, whatever the browser's TypeError said. */
const network = (): never => {
  throw new SessionClientError('ERR_NETWORK', 'network error');
};

/** A step-up challenge's parameters, from a body, a header or a socket payload: a `maxAge` that is a number of seconds, an `acrValues` array, an event name. */
function challengeOf(maxAge: unknown, acrValues: unknown, event?: unknown): StepUpChallenge {
  const challenge: StepUpChallenge = {};
  const seconds = Number(maxAge);
  if (seconds >= 0) challenge.maxAge = seconds;
  if (Array.isArray(acrValues)) challenge.acrValues = acrValues;
  if (typeof event === 'string') challenge.event = event;
  return challenge;
}

const REASONS: Record<string, SignedOutReason> = { ERR_REFRESH_TOKEN_REUSED: 'reused', ERR_REFRESH_TOKEN_EXPIRED: 'expired' };

/** A caller's mistake, reported once (at construction, or attachSocket's argument). */
function config(message: string): never {
  throw new SessionClientError('ERR_CONFIG_INVALID', message);
}

/** A 2xx body that is not the contract's. */
function unexpected(status?: number): never {
  throw new SessionClientError('ERR_HTTP', 'unexpected answer', status);
}

const noop = (): undefined => undefined;

/** The page's signals that a renewal may be overdue (timers are throttled in a hidden tab, and fail offline). */
const WAKE = ['online', 'visibilitychange'];

/** A `fetch` input's URL. */
const urlOf = (input: string | URL | Request): string | URL => (input instanceof Request ? input.url : input);

/** A non-2xx answer as its SessionClientError. */
async function ok(pending: Promise<Response>): Promise<Response> {
  const res = await pending;
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** A 2xx body that is not the contract's (a proxy's HTML page, a wrong shape) is ERR_HTTP, never a raw SyntaxError or TypeError. */
async function json<T = any>(res: Response, valid: (body: any) => T | undefined = (body) => body): Promise<T> {
  const value = valid(await res.json().catch(noop));
  if (value === undefined) unexpected(res.status);
  return value;
}

/**
 * The browser side of a jwt-session app. The access token lives in this
 * object only; the refresh token is the server's HttpOnly cookie.
 *
 * @example
 * ```ts
 * const client = new SessionClient({ baseUrl: '/auth' });
 * client.on('signedOut', ({ reason }) => showSignIn(reason));
 * if (!(await client.restore())) await client.signIn({ username, password });
 * const res = await client.fetch('/api/profile');
 * ```
 */
export class SessionClient {
  readonly #base: string;
  readonly #signInUrl: string;
  readonly #credentials: 'omit' | 'same-origin' | 'include';
  readonly #fetch: typeof fetch;
  readonly #ahead: number;
  readonly #locks: LockManagerLike | undefined;
  #channel: ChannelLike | undefined;
  #token: string | undefined;
  #sessionId: string | undefined;
  #expiresAt!: number;
  /** performance.now() at which a renewal is due: the token's expiry less the margin (the `refreshAhead` share of its lifetime, at most a minute). */
  #due!: number;
  /** Bumped whenever the token changes or the session ends: a refresh started before is moot. */
  #gen = 0;
  #refreshing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoff = 0;
  /** The current gap between timed renewals that came too soon after each other; 0 when they do not. */
  #rapid = 0;
  /** Where relative URLs point, and the origins that receive the access token. */
  readonly #here: string;
  readonly #origins: Set<string | undefined>;
  #endingUntil!: number;
  /** Without Web Locks: a sibling announced a renewal; its result is expected until then. */
  #siblingUntil!: number;
  readonly #wake: (() => void)[] = [];
  /** Sessions that ended here: a late message from a sibling must not bring one back. */
  readonly #ended = new Set<string>();
  readonly #listeners = new Map<string, Set<(payload: never) => void>>();
  readonly #sockets = new Set<SocketNotice>();
  /** DPoP on (option `dpop`); where the origin's tabs keep the key (IndexedDB record name), undefined: this tab only. */
  readonly #dpop: boolean;
  readonly #keyName: string | undefined;
  /** The session's key as this tab knows it: made here at sign-in, or read from IndexedDB. */
  #key: Promise<DpopKey | undefined> | undefined;
  /** Whether the current access token is bound (`cnf`): then it travels as `DPoP`, with a proof. */
  #bound!: boolean;
  /** The newest `DPoP-Nonce` each origin gave (§8). */
  readonly #nonces = new Map<string, string>();
  /** Seconds the server's clock (its `Date` header) is ahead of this device's, when far off: proofs' `iat` is the server's time. */
  #skew = 0;
  readonly #onStepUp: SessionClientOptions['onStepUp'];
  /** The step-up prompt open now: challenges that come meanwhile wait for it. */
  #stepping: Promise<boolean> | undefined;
  readonly #onWake = (): void => {
    if (this.#stale()) this.#tick();
  };

  constructor(input: SessionClientOptions = {}) {
    if (Object(input) !== input) config('invalid options');
    let baseUrl: any, signInUrl: any, credentials: any, fetch: any, channel: any, locks: any, refreshAhead: any, tokenOrigins: unknown, dpop: unknown, onStepUp: any;
    try {
      // Each option is read once, here, in this order: a throwing getter (or a Proxy) is a coded error.
      ({ baseUrl = '/auth', signInUrl = `${baseUrl}/sign-in`, credentials = 'same-origin', fetch = global.fetch, channel = 'jwt-session', locks, refreshAhead = 0.3, tokenOrigins, dpop, onStepUp } = input);
    } catch {
      config('options could not be read');
    }
    const here = (this.#here = global.location?.href ?? NO_PAGE);
    const originOf = (url: unknown): string | undefined => {
      try {
        return new URL(url as string, here).origin;
      } catch {
        return undefined;
      }
    };
    const origins: unknown = tokenOrigins ?? [originOf(here)];
    // The first option that breaks its rule (RULES says which).
    const bad =
      typeof baseUrl !== 'string'
        ? 'baseUrl'
        : typeof signInUrl !== 'string'
          ? 'signInUrl'
          : typeof fetch !== 'function'
            ? 'fetch'
            : typeof refreshAhead !== 'number' || !(refreshAhead > 0 && refreshAhead < 1)
              ? 'refreshAhead'
              : channel !== false && (typeof channel !== 'string' || channel === '')
                ? 'channel'
                : !['omit', 'same-origin', 'include'].includes(credentials)
                  ? 'credentials'
                  : locks != null && typeof locks.request !== 'function'
                    ? 'locks'
                    : dpop !== undefined && typeof dpop !== 'boolean'
                      ? 'dpop'
                      : onStepUp !== undefined && typeof onStepUp !== 'function'
                        ? 'onStepUp'
                        : !Array.isArray(origins) || origins.some((o) => typeof o !== 'string' || originOf(o) !== o.toLowerCase().replace(/\/$/, ''))
                          ? 'tokenOrigins'
                          : undefined;
    if (bad !== undefined) config(`invalid option ${bad}`);
    this.#onStepUp = onStepUp;
    this.#dpop = dpop !== false;
    // Without a channel the tabs do not share a session, so they do not share a key either.
    this.#keyName = channel || undefined; // false, or a name (not empty)
    // The endpoints' origin always: the client's own calls to them carry the token.
    this.#origins = new Set([originOf(baseUrl), ...(origins as string[]).map(originOf)]);
    this.#base = baseUrl.replace(/\/$/, '');
    this.#signInUrl = signInUrl;
    this.#credentials = credentials;
    // A browser's fetch throws "Illegal invocation" when called detached from window.
    this.#fetch = (input, init) => fetch(input, init);
    this.#ahead = refreshAhead;
    if (channel) {
      this.#locks = locks === undefined ? global.navigator?.locks : (locks ?? undefined);
      const Channel = global.BroadcastChannel;
      if (Channel) {
        const ch = new Channel(channel);
        ch.onmessage = (event) => this.#hear(event.data as Message);
        ch.unref?.(); // Node: an open channel must not keep the process alive
        this.#channel = ch;
      }
    }
    for (const type of WAKE) global.addEventListener?.(type, this.#onWake);
  }

  /** The current session, or `null` when signed out. */
  get session(): { sessionId: string; expiresAt: number } | null {
    return this.#sessionId === undefined ? null : { sessionId: this.#sessionId, expiresAt: this.#expiresAt };
  }

  /** The access token's payload, decoded, not verified (the server verifies it): e.g. to show the user's name. */
  get claims(): Record<string, unknown> | null {
    const part = this.#token?.split('.')[1];
    try {
      // base64url → bytes → UTF-8 (escape() makes each byte a %XX that decodeURIComponent reads as UTF-8).
      return JSON.parse(decodeURIComponent(escape(atob(part!.replace(/-/g, '+').replace(/_/g, '/'))))) as Record<string, unknown>;
    } catch {
      return null; // signed out, or a token that is not a JWT
    }
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof SessionClientEvents>(event: E, listener: (payload: SessionClientEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * On page load: takes the session over from the refresh cookie (or from
   * another tab that is renewing it at that moment). Resolves `true` when
   * signed in, `false` when the visitor simply has no session (the server
   * answers 204, so nothing is logged in the console); rejects with the
   * server's code when the cookie is no longer valid.
   */
  async restore(): Promise<boolean> {
    if (this.#token === undefined) await this.#renew();
    return this.#token !== undefined;
  }

  /** Posts `credentials` as JSON to the sign-in URL; the answer is a {@link SessionBody}. */
  async signIn(credentials: unknown): Promise<{ sessionId: string; expiresAt: number }> {
    this.#adopt(await this.#begin(this.#signInUrl, credentials, (b) => b), true);
    return this.session!;
  }

  /**
   * A sign-in call: `body` as JSON with a proof by a new key, made for each sign-in and stored only once
   * the server accepted (a failed one leaves the siblings' key alone); resolves the answer's body, checked.
   */
  async #begin<T>(url: string, body: unknown, valid: (body: any) => T | undefined): Promise<T> {
    const key = this.#dpop ? await newKey() : undefined;
    const value = await json(await ok(this.#call(url, 'POST', JSON.stringify(body), key)), valid);
    if (key) {
      this.#key = Promise.resolve(key);
      if (this.#keyName) await saveKey(this.#keyName, key);
    }
    return value;
  }

  /**
   * Starts a sign-in that ends in a redirect (OpenID Connect at an identity
   * provider): POSTs `body` as JSON to `url` with the CSRF header and, with
   * DPoP on, a proof by a new key, and resolves the `url` of the server's
   * answer (`200 { "url": … }`), where the page then navigates. The server
   * records the proof's key with the sign-in's `state` and binds the session
   * it opens at the callback to it; the key is kept (IndexedDB) once the
   * server accepted, so that the page the provider sends the browser back to
   * proves that same key in `restore()`. Call it signed out: like `signIn`,
   * it replaces this browser's key.
   *
   * @example
   * ```ts
   * location.assign(await client.startSignIn('/auth/oidc/login'));
   * ```
   */
  async startSignIn(url: string, body?: unknown): Promise<string> {
    if (typeof url != 'string') config('invalid option url');
    // Only a web address: the page navigates to it, so a `javascript:` URL would run in this origin.
    // (test() reads a non-string as its text, and JSON has nothing whose text is a web address but a string, or an array of one.)
    return this.#begin(url, body, (b): string | undefined => (/^https?:\/\//i.test(b?.url) ? `${b.url}` : undefined));
  }

  /** Ends this browser's session (every tab of it signs out, reason `signed-out`). */
  async signOut(): Promise<void> {
    this.#announceEnding();
    await ok(this.#call(`${this.#base}/signout`, 'POST'));
    await this.#end('signed-out'); // resolves once the key is deleted
  }

  /** Ends every session of the user; other devices sign out with reason `signed-out-elsewhere`. */
  async signOutEverywhere(): Promise<void> {
    this.#announceEnding();
    await this.#api('/signout-everywhere', 'POST');
    await this.#end('signed-out');
  }

  /** The user's live sessions, newest first; `current` marks this one. */
  async sessions(): Promise<SessionView[]> {
    return json(await this.#api('/sessions', 'GET'), (b): SessionView[] | undefined => (Array.isArray(b?.sessions) ? b.sessions : undefined));
  }

  /** Revokes one of the user's sessions (its tabs sign out live). */
  async revoke(sessionId: string): Promise<void> {
    const own = sessionId === this.#sessionId;
    if (own) this.#announceEnding();
    await this.#api(`/sessions/${encodeURIComponent(sessionId)}`, 'DELETE');
    if (own) await this.#end('signed-out');
  }

  /** Revokes every session of the user but this one; resolves how many were revoked. */
  async revokeOthers(): Promise<number> {
    return json(await this.#api('/sessions/revoke-others', 'POST'), (b): number | undefined => (typeof b?.revoked === 'number' ? b.revoked : undefined));
  }

  /**
   * A valid access token: renews first when it is about to expire. Rejects
   * with `ERR_NOT_SIGNED_IN` when there is no session.
   */
  async token(): Promise<string> {
    // Offline or a failing server: the current token may still be good for a while.
    if (this.#stale()) await this.#renew().catch(noop);
    if (this.#token === undefined) throw new SessionClientError('ERR_NOT_SIGNED_IN', 'not signed in');
    return this.#token;
  }

  /** Renews the access token now (one rotation, shared with the other tabs). */
  refresh(): Promise<void> {
    return this.#renew();
  }

  /**
   * `fetch` with `Authorization: Bearer`, or for a DPoP-bound session
   * `Authorization: DPoP` and a fresh `DPoP` proof (with `ath`). A
   * `use_dpop_nonce` challenge is retried once with the server's nonce. On a
   * 401 whose `WWW-Authenticate` says `error="invalid_token"` it renews the
   * token once and retries; when
   * the session turns out to be over, it resolves that 401 (and `signedOut`
   * fires). On a step-up challenge (401 `insufficient_user_authentication`,
   * or the body's `ERR_AUTH_NOT_FRESH`) it fires `stepUpRequired`, awaits
   * the `onStepUp` prompt and, once re-authenticated, sends again, once; a
   * declined prompt resolves that 401. A `ReadableStream` body cannot be sent twice: pass a string,
   * Blob, FormData or buffer.
   */
  async fetch(input: string | URL | Request, init?: RequestInit | null): Promise<Response> {
    init ??= {}; // null, as fetch() itself accepts it
    // Another origin gets neither the token nor a renewal made for it.
    if (!this.#authorized(input)) return this.#fetch(input, init);
    let renewed = false;
    let stepped = false;
    for (;;) {
      const token = await this.token();
      const seen = this.#gen;
      const res = await this.#send(input, init, token);
      const challenge = res.status === 401 ? (res.headers.get('www-authenticate') ?? '') : '';
      if (!renewed && /invalid_token/.test(challenge)) {
        await this.#renew(seen);
        if (this.#token === undefined) return res;
        renewed = true;
        continue;
      }
      // RFC 9470: the route wants a more recent authentication. Once: a second challenge after it is the answer.
      if (stepped || res.status !== 401) return res;
      const body = (await res.clone().json().catch(noop)) as { error?: unknown; maxAge?: unknown; acrValues?: unknown } | undefined;
      if (!/insufficient_user_authentication/.test(challenge) && body?.error !== 'ERR_AUTH_NOT_FRESH') return res;
      // The body's parameters (jwt-session's guards); a bare RFC 9470 challenge (another server's, or the body
      // hidden) gives max_age in the header.
      if (!(await this.stepUp(challengeOf(body?.maxAge ?? /max_age="?(\d+)/.exec(challenge)?.[1], body?.acrValues)))) return res;
      stepped = true;
    }
  }

  /**
   * One request, with `token` as `Authorization` when given, and a proof by
   * `key` (else by the session's key: always without a token, only for a
   * bound session with one); sent again once for a DPoP nonce (§9).
   */
  async #send(input: string | URL | Request, init: RequestInit, token?: string, key?: DpopKey): Promise<Response> {
    const url = new URL(urlOf(input), this.#here);
    const request = input instanceof Request ? input : undefined;
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    key ??= token === undefined || this.#bound ? await this.#keyNow() : undefined;
    for (let nonced = false; ; nonced = true) {
      const headers = new Headers(init.headers ?? request?.headers);
      if (token !== undefined) headers.set('authorization', `${this.#bound ? 'DPoP' : 'Bearer'} ${token}`);
      if (key) headers.set('dpop', await this.#proof(key, method, url, token));
      const res = await this.#fetch(request?.clone() ?? input, { ...init, headers });
      if (!this.#learn(res, url) || nonced) return res;
    }
  }

  /**
   * Step-up for a challenge (what {@link fetch} does on one, and what to call
   * on a refused socket event's ack `{ ok: false, code: 'ERR_AUTH_NOT_FRESH',
   * maxAge, acrValues }`): fires `stepUpRequired`, then awaits the `onStepUp`
   * option's prompt — one at a time, shared by the challenges that come while
   * it is open. Resolves `true` once the user re-authenticated, `false` when
   * declined or without `onStepUp`.
   */
  stepUp(challenge: StepUpChallenge): Promise<boolean> {
    this.#emit('stepUpRequired', challenge);
    return (this.#stepping ??= (async () => (await this.#onStepUp?.(challenge)) === true)()
      .catch(report)
      .finally(() => {
        this.#stepping = undefined;
      }));
  }

  /**
   * Re-authenticates the session (step-up): posts `credentials` as JSON to
   * `POST {base}/reauthenticate` with the access token (and, bound, a proof)
   * and the refresh cookie; the server runs the app's credential check,
   * stamps the session fresh and rotates it, and the new token is taken here
   * and in the other tabs. Rejects with the server's code, e.g.
   * `ERR_CREDENTIALS_INVALID` for a wrong password (nothing changed).
   */
  async reauthenticate(credentials: unknown): Promise<void> {
    await this.token(); // not signed in: ERR_NOT_SIGNED_IN; about to expire: renewed first
    // It rotates the refresh token: never alongside a renewal, here or in a sibling tab (it would read as reuse).
    while (this.#refreshing) await this.#refreshing.catch(noop);
    // In the place of a rotation: the same lock, the same single flight; a renewal asked for meanwhile waits for it.
    await this.#renew(undefined, false, async () => {
      this.#adopt((await (await ok(this.#call(`${this.#base}/reauthenticate`, 'POST', JSON.stringify(credentials), undefined, this.#token))).json().catch(noop)) as SessionBody, true);
    });
  }

  /** Whether a request goes to one of the origins that receive the token. */
  #authorized(input: string | URL | Request): boolean {
    try {
      return this.#origins.has(new URL(urlOf(input), this.#here).origin);
    } catch {
      return false;
    }
  }

  /**
   * Socket.IO's `auth` option: every (re)connection gets a current token and,
   * for a bound session, a DPoP proof in `dpop` (`htm` `GET`, `htu` the
   * Socket.IO endpoint: `{origin of baseUrl}/socket.io/` here;
   * {@link attachSocket} makes it the socket's own URL and path).
   * `io({ auth: client.socketAuth })`
   */
  readonly socketAuth = this.#socketAuth(() => `${new URL(`${this.#base}/`, this.#here).origin}/socket.io/`);

  #socketAuth(htu: () => string): (callback: (data: { token?: string; dpop?: string | undefined }) => void) => void {
    return (callback) => {
      // JSON: no `dpop` for an unbound session.
      this.token()
        .then(async (token) => ({ token, dpop: await this.#socketProof(token, htu()) }))
        .then(callback, () => callback({}));
    };
  }

  /** The proof a socket's handshake or `session:renew` carries: `GET` of the Socket.IO endpoint, `ath` of the token. */
  async #socketProof(token: string, htu: string): Promise<string | undefined> {
    const key = this.#bound && (await this.#keyNow());
    return key ? this.#proof(key, 'GET', htu, token) : undefined;
  }

  /**
   * Binds a socket.io-client socket: `session:renew` after each refresh,
   * reconnection after an expiry, and `session:revoked` turned into
   * `signedOut`. Returns the function that unbinds it.
   */
  attachSocket(socket: SocketLike): () => void {
    if (typeof socket?.on !== 'function' || typeof socket.off !== 'function') config('invalid option socket');
    // The Socket.IO endpoint as engine.io requests it: the manager's origin and its path with one trailing slash, no query.
    const htu = (): string => {
      const manager = socket.io as { uri?: string; opts?: { path?: string } } | undefined;
      return `${new URL(manager?.uri ?? '/', this.#here).origin}${(manager?.opts?.path ?? '/socket.io').replace(/\/$/, '')}/`;
    };
    if (socket.auth === this.socketAuth) socket.auth = this.#socketAuth(htu);
    const signedIn = (): boolean => this.#token !== undefined;
    // The server closed the socket (an expiry, a failed renewal): get a valid token (renewed only if stale), then
    // reconnect; socket.io does not by itself. Offline: the refresh schedule retries, and socket.io reconnects by itself.
    const reconnect = (renewal: Promise<unknown>): void =>
      void renewal.then(() => {
        if (signedIn() && !socket.connected) socket.connect();
      }, noop);
    const ending = (): boolean => now() < this.#endingUntil;
    const handlers: Record<string, (...args: any[]) => void> = {
      'session:revoked': (payload: unknown) => this.#end(revokedReason(payload, ending())),
      'session:expired': () => reconnect(this.token()),
      // An event refused for want of a recent authentication, sent without an ack.
      'session:not-fresh': (p) => void this.stepUp(challengeOf(p?.maxAge, p?.acrValues, p?.event)),
      connect_error: (error: { data?: { code?: unknown } } | undefined) => {
        const code = error?.data?.code;
        // The handshake's token was refused as expired: renew even if it looks fresh here, so this cannot loop.
        if (code === 'ERR_AUTH_TOKEN_EXPIRED') reconnect(this.#renew());
        else if (code === 'ERR_SESSION_REVOKED') this.#end(revokedReason(null, ending()));
      },
      disconnect: (why: string) => {
        // The server closed it (expiry, a failed renewal): socket.io does not reconnect by itself then.
        if (why === 'io server disconnect' && signedIn()) reconnect(this.token());
      },
    };
    const each = (how: 'on' | 'off'): void => {
      for (const event in handlers) socket[how](event, handlers[event]!);
    };
    each('on');
    /** A new token (`session:renew`), the end of the session (`undefined`: disconnect), or unbinding (`null`). */
    const notify: SocketNotice = (token) => {
      if (token === null) return each('off');
      if (token === undefined) return void socket.disconnect();
      if (!socket.connected) return;
      const answered = (answer?: { ok?: boolean }): void => {
        // Refused (e.g. the socket's session changed): reconnect, the auth callback gives the current token.
        if (answer?.ok !== true && signedIn()) {
          socket.disconnect();
          socket.connect();
        }
      };
      // A bound session's renewal carries a proof like the handshake's (same htm and htu, ath of the new token).
      this.#socketProof(token, htu()).then((dpop) => socket.emit('session:renew', { token, dpop }, answered), answered);
    };
    this.#sockets.add(notify);
    return () => {
      notify(null);
      this.#sockets.delete(notify);
    };
  }

  /** Stops timers and the channel; the session itself stays (the cookie is the server's). */
  close(): void {
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#channel = undefined;
    for (const type of WAKE) global.removeEventListener?.(type, this.#onWake);
    for (const notify of this.#sockets) notify(null);
    this.#sockets.clear();
  }

  #emit<E extends keyof SessionClientEvents>(event: E, payload: SessionClientEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(payload as never);
      } catch (error) {
        // A failing listener must not break the renewal or the sign-out that emitted.
        report(error);
      }
    }
  }

  #post(message: Message): void {
    this.#channel?.postMessage(message);
  }

  /** Signed in, and the token is within its margin of expiry (or past it). */
  #stale(): boolean {
    return this.#token !== undefined && now() >= this.#due;
  }

  #adopt(body: SessionBody, announce: boolean, lifetime = body?.expiresIn * 1000): void {
    const { accessToken, sessionId, expiresIn, expiresAt } = (body ?? {}) as Partial<SessionBody>;
    // A non-finite, negative or absurd expiresIn (JSON's 1e309 is Infinity) would make every timer below fire at once.
    if (typeof accessToken !== 'string' || typeof sessionId !== 'string' || typeof expiresIn !== 'number' || !sane(expiresIn) || !sane(lifetime / 1000)) {
      return unexpected();
    }
    this.#token = accessToken;
    if (sessionId !== this.#sessionId && !announce) this.#key = undefined; // a sibling's new session: its key is in IndexedDB
    this.#sessionId = sessionId;
    this.#bound = typeof (this.claims?.cnf as { jkt?: unknown } | undefined)?.jkt === 'string';
    this.#expiresAt = expiresAt!;
    // expiresIn is whole seconds counted from the server's second, so up to 1 s optimistic.
    const margin = Math.min(60_000, lifetime * this.#ahead);
    this.#due = now() + (expiresIn - 1) * 1000 - margin;
    this.#gen += 1;
    this.#backoff = 0;
    // Without Web Locks, tabs that adopted the same token would all fire together: spread them
    // over half the margin, so that the first one's announcement reaches the others in time.
    const delay = this.#due + (this.#locks ? 0 : (margin * Math.random()) / 2) - now();
    // A token already due as it arrives (a server handing out dead tokens) would have the timer renew back
    // to back: back off, doubling while it goes on. A merely short-lived token is renewed no sooner than
    // RENEW_FLOOR, without the doubling: a 3 s token must still be renewed every second or so.
    this.#rapid = delay <= 0 ? Math.min(60_000, Math.max(RENEW_FLOOR, this.#rapid * 2)) : 0;
    this.#schedule(this.#rapid || Math.max(RENEW_FLOOR, delay));
    if (announce) this.#post({ t: 'ok', b: body, l: lifetime });
    for (const notify of this.#sockets) notify(accessToken);
    this.#emit('refreshed', { sessionId, expiresAt: expiresAt! });
  }

  /** Resolves once the session's key is deleted from IndexedDB. */
  #end(reason: SignedOutReason, announce = true): unknown {
    this.#gen += 1;
    const sessionId = this.#sessionId;
    if (sessionId === undefined) return;
    this.#ended.add(sessionId);
    this.#token = this.#sessionId = undefined;
    // The key goes with the session, here and in IndexedDB (unless a sibling has replaced it with a newer session's).
    const gone = this.#keyName && this.#key?.then((k) => k && deleteKey(this.#keyName!, k));
    this.#key = undefined;
    clearTimeout(this.#timer);
    if (announce) this.#post({ t: 'out', s: sessionId, r: reason });
    for (const notify of this.#sockets) notify();
    this.#emit('signedOut', { reason });
    return gone;
  }

  #announceEnding(): void {
    if (this.#sessionId === undefined) return;
    this.#endingUntil = now() + ENDING_MS;
    this.#post({ t: 'ending', s: this.#sessionId });
  }

  #hear(message: Message): void {
    const type = message?.t;
    if (type === 'ok') {
      // Messages may cross: never step back to an older token of the same session.
      const { sessionId, expiresAt } = message.b ?? {};
      if (sessionId !== undefined && !this.#ended.has(sessionId) && (sessionId !== this.#sessionId || expiresAt >= this.#expiresAt)) {
        this.#adopt(message.b, false, message.l);
      }
    } else if ((type === 'out' || type === 'ending') && message.s === this.#sessionId) {
      if (type === 'ending') this.#endingUntil = now() + ENDING_MS;
      else this.#end(message.r ?? 'signed-out', false);
    }
    // A sibling's renewal started, or ended (its outcome).
    if (type === 'rot') this.#siblingUntil = now() + HOLDER_GRACE_MS;
    else if (type !== 'ending') this.#siblingUntil = 0;
    for (const wake of this.#wake.splice(0)) wake();
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    (this.#timer = setTimeout(() => this.#tick(), Math.min(MAX_DELAY, delay))).unref?.(); // Node: unref; a browser's timer id has none
  }

  /** The scheduled renewal; on failure (offline, a 5xx) it retries with backoff, and at once when the browser is back online. */
  #tick(): void {
    this.#renew(undefined, true).catch(() => {
      if (this.#token === undefined) return;
      this.#schedule((this.#backoff = Math.min(15_000, Math.max(500, this.#backoff * 2))));
    });
  }

  /** One renewal at a time in this tab; callers that come while one runs share it. */
  #renew(seen = this.#gen, timed = false, rotate = () => this.#rotate(seen)): Promise<void> {
    return (this.#refreshing ??= this.#coordinate(seen, timed, rotate).finally(() => {
      this.#refreshing = undefined;
    }));
  }

  /**
   * One renewal at a time across the tabs (Web Locks). A tab that finds the
   * lock taken waits for it, and by then normally has the holder's result
   * (broadcast before the holder released the lock): it does not rotate
   * again. Without Web Locks only the in-tab single flight above applies.
   */
  async #coordinate(seen: number, timed: boolean, rotate: () => Promise<void>): Promise<void> {
    const locks = this.#locks;
    const name = `${this.#keyName}:refresh`; // locks only with a channel: its name
    if (!locks) {
      // Best effort (see README): a sibling announced a renewal, wait for its outcome.
      while (now() < this.#siblingUntil && this.#gen === seen) await this.#heard(seen);
      if (this.#gen === seen) this.#post({ t: 'rot' });
      return rotate();
    }
    let queued = false;
    await locks.request(name, { ifAvailable: true }, async (lock) => {
      if (!lock) return void (queued = true);
      // Tabs that adopted one token have their timers due together: a sibling may have rotated and released
      // the lock an instant ago, its outcome still on the channel. A timed renewal (ahead of expiry, so it
      // can wait) gives that message a moment before spending the cookie again.
      if (timed && this.#channel) await this.#heard(seen, SIBLING_SETTLE_MS);
      return rotate();
    });
    if (!queued) return;
    await locks.request(name, {}, async () => {
      // The holder posted its outcome before releasing; the message may still be on its way.
      await this.#heard(seen);
      return rotate();
    });
  }

  /** Resolves on the next message from a sibling, or after HOLDER_GRACE_MS; at once if the token changed since `seen`. */
  #heard(seen: number, ms = HOLDER_GRACE_MS): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#gen !== seen) return resolve();
      const timer = setTimeout(resolve, ms);
      this.#wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #rotate(seen: number): Promise<void> {
    if (this.#gen !== seen) return; // another tab's result (or a sign-out) came first
    let res: Response;
    try {
      res = await this.#call(`${this.#base}/refresh`, 'POST');
      if (res.status === 204) return void this.#end('signed-out');
      if (res.ok) return this.#adopt((await res.json().catch(noop)) as SessionBody, true);
      const error = await errorOf(res);
      if (res.status !== 401) throw error;
      if (this.#token === undefined) throw error; // restore(): tell the page why
      // Refused because this tab or a sibling is signing out right now: that is what happened.
      this.#end(now() < this.#endingUntil ? 'signed-out' : (REASONS[error.code] ?? 'revoked'));
    } catch (error) {
      this.#post({ t: 'fail' }); // waiting tabs try themselves
      throw error;
    }
  }

  /** A call to a session endpoint (or the sign-in route) with the CSRF header and a JSON `body`; see {@link #send}. */
  #call(url: string, method: string, body?: string, key?: DpopKey, token?: string): Promise<Response> {
    const headers: Record<string, string> = { [CSRF_HEADER]: '1' };
    if (body) headers['content-type'] = 'application/json';
    return this.#send(url, { method, headers, body: body ?? null, credentials: this.#credentials }, token, key).catch(network);
  }

  /** The session's key: this tab's, else the one the origin's tabs share in IndexedDB; undefined with DPoP off or none kept. */
  #keyNow(): Promise<DpopKey | undefined> | undefined {
    // Without a stored key (no channel), only the one this tab made at sign-in.
    return this.#dpop ? (this.#key ??= this.#keyName ? loadKey(this.#keyName) : undefined) : undefined;
  }

  /** `url`: absolute. */
  #proof(key: DpopKey, method: string, url: string | URL, token?: string): Promise<string> {
    const full = new URL(url);
    return proof(key, method, full.href, this.#skew, this.#nonces.get(full.origin), token);
  }

  /**
   * Keeps what a response tells about DPoP: the newest `DPoP-Nonce` of its
   * origin (§8) and, from a refusal, the server's clock (`Date`). True when the request
   * should be sent again with them: a `use_dpop_nonce` challenge (§9) with a
   * nonce, or a refused proof whose `iat` this device's clock got wrong.
   */
  #learn(res: Response, url: URL): boolean {
    const nonce = res.headers.get('dpop-nonce');
    if (nonce !== null) this.#nonces.set(url.origin, nonce);
    if ((res.status | 1) !== 401) return false; // only a 400 or a 401
    // The clock only from refusals: never cached, unlike a 200 whose Date may be hours old; a proof whose iat was right is never refused for it.
    const skew = this.#skew;
    this.#skew = serverSkew(res, skew);
    const challenge = res.headers.get('www-authenticate') ?? '';
    return (nonce !== null && /use_dpop_nonce/.test(challenge)) || (/invalid_dpop_proof/.test(challenge) && this.#skew !== skew);
  }

  /** A call with the access token to a session endpoint; a non-2xx answer becomes a SessionClientError. */
  #api(path: string, method: string): Promise<Response> {
    return ok(
      this.fetch(`${this.#base}${path}`, { method, headers: { [CSRF_HEADER]: '1' }, credentials: this.#credentials }).catch((error) => {
        throw error instanceof SessionClientError ? error : network();
      }),
    );
  }
}

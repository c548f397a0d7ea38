import { SessionClientError, errorOf } from './errors.js';
import { bindSocket, type BoundSocket } from './socket.js';
import { deleteKey, loadKey, newKey, proof, saveKey, serverSkew, type DpopKey } from './dpop.js';
import type { ChannelLike, LockManagerLike, SessionBody, SessionClientEvents, SessionClientOptions, SessionView, SignedOutReason, SocketLike } from './types.js';

/** The header every call to a session endpoint carries (the server's CSRF check). */
export const CSRF_HEADER = 'x-jwt-session';

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
const MAX_EXPIRES_IN = 400 * 24 * 3600;
/** Timed renewals come at least this far apart (ms); while tokens keep arriving already due, the gap doubles to 60 s. */
const RENEW_FLOOR = 1000;
const sane = (seconds: number): boolean => seconds >= 0 && seconds <= MAX_EXPIRES_IN;
/** What relative URLs resolve against where there is no page (Node): a name that never resolves (RFC 2606). */
const NO_PAGE = 'http://relative.invalid';

const REASONS: Record<string, SignedOutReason> = { ERR_REFRESH_TOKEN_REUSED: 'reused', ERR_REFRESH_TOKEN_EXPIRED: 'expired' };

function fail(option: string, rule: string): never {
  throw new SessionClientError('ERR_CONFIG_INVALID', `option ${option} ${rule}`);
}

/** A 2xx body that is not the contract's (a proxy's HTML page, a wrong shape) is ERR_HTTP, never a raw SyntaxError or TypeError. */
async function bodyOf<T>(res: Response, valid: (body: any) => T | undefined): Promise<T> {
  const value = valid(await res.json().catch(() => undefined));
  if (value === undefined) throw new SessionClientError('ERR_HTTP', 'the server answered an unexpected body', res.status);
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
  readonly #lockName: string;
  readonly #locks: LockManagerLike | undefined;
  #channel: ChannelLike | undefined;
  #token: string | undefined;
  #sessionId: string | undefined;
  #expiresAt = 0;
  /** performance.now() at which the token expires. */
  #deadline = 0;
  #lifetime = 0;
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
  #endingUntil = -Infinity;
  /** Without Web Locks: a sibling announced a renewal; its result is expected until then. */
  #siblingUntil = -Infinity;
  #wake: (() => void)[] = [];
  /** Sessions that ended here: a late message from a sibling must not bring one back. */
  readonly #ended = new Set<string>();
  readonly #listeners = new Map<string, Set<(payload: never) => void>>();
  readonly #sockets = new Set<BoundSocket>();
  /** DPoP on (option `dpop`); where the origin's tabs keep the key (IndexedDB record name), undefined: this tab only. */
  readonly #dpop: boolean;
  readonly #keyName: string | undefined;
  /** The session's key as this tab knows it: made here at sign-in, or read from IndexedDB. */
  #key: Promise<DpopKey | undefined> | undefined;
  /** Whether the current access token is bound (`cnf`): then it travels as `DPoP`, with a proof. */
  #bound = false;
  /** The newest `DPoP-Nonce` each origin gave (§8). */
  readonly #nonces = new Map<string, string>();
  /** Seconds the server's clock (its `Date` header) is ahead of this device's, when far off: proofs' `iat` is the server's time. */
  #skew = 0;
  readonly #onWake = (): void => {
    if (this.#token !== undefined && this.#stale()) this.#tick();
  };

  constructor(input: SessionClientOptions = {}) {
    if (typeof input !== 'object' || input === null) throw new SessionClientError('ERR_CONFIG_INVALID', 'options must be an object');
    const options: SessionClientOptions = {};
    try {
      // Each getter runs once, here: a throwing one (or a Proxy) is a coded error.
      for (const key of ['baseUrl', 'signInUrl', 'credentials', 'fetch', 'channel', 'locks', 'refreshAhead', 'tokenOrigins', 'dpop']) (options as Record<string, unknown>)[key] = input[key as keyof SessionClientOptions];
    } catch {
      throw new SessionClientError('ERR_CONFIG_INVALID', 'options could not be read');
    }
    const { baseUrl = '/auth', channel = 'jwt-session', refreshAhead = 0.3, credentials = 'same-origin', locks } = options;
    if (typeof baseUrl !== 'string') fail('baseUrl', 'must be a string');
    const signInUrl = options.signInUrl ?? `${baseUrl}/sign-in`;
    if (typeof signInUrl !== 'string') fail('signInUrl', 'must be a string');
    const fetchImpl = options.fetch ?? global.fetch;
    if (typeof fetchImpl !== 'function') fail('fetch', 'must be a function');
    if (typeof refreshAhead !== 'number' || !(refreshAhead > 0 && refreshAhead < 1)) fail('refreshAhead', 'must be a number between 0 and 1');
    if (channel !== false && (typeof channel !== 'string' || channel === '')) fail('channel', 'must be a non-empty string or false');
    if (!['omit', 'same-origin', 'include'].includes(credentials)) fail('credentials', "must be 'omit', 'same-origin' or 'include'");
    if (locks != null && typeof locks.request !== 'function') fail('locks', 'must have a request() method');
    if (options.dpop !== undefined && typeof options.dpop !== 'boolean') fail('dpop', 'must be a boolean');
    this.#dpop = options.dpop !== false;
    // Without a channel the tabs do not share a session, so they do not share a key either.
    this.#keyName = channel === false ? undefined : channel;
    const here = (this.#here = global.location?.href ?? NO_PAGE);
    const originOf = (url: unknown): string | undefined => {
      try {
        return new URL(url as string, here).origin;
      } catch {
        return undefined;
      }
    };
    const origins: unknown = options.tokenOrigins ?? [originOf(here)];
    if (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string' || originOf(o) !== o.toLowerCase().replace(/\/$/, ''))) {
      fail('tokenOrigins', 'must be an array of origins such as "https://api.example.com"');
    }
    // The endpoints' origin always: the client's own calls to them carry the token.
    this.#origins = new Set([originOf(baseUrl), ...origins.map(originOf)]);
    this.#base = baseUrl.replace(/\/$/, '');
    this.#signInUrl = signInUrl;
    this.#credentials = credentials;
    // A browser's fetch throws "Illegal invocation" when called detached from window.
    this.#fetch = (input, init) => fetchImpl(input, init);
    this.#ahead = refreshAhead;
    this.#lockName = `${channel}:refresh`;
    if (channel !== false) {
      this.#locks = locks === undefined ? global.navigator?.locks : (locks ?? undefined);
      const Channel = global.BroadcastChannel;
      if (Channel !== undefined) {
        const ch = new Channel(channel);
        ch.onmessage = (event) => this.#hear(event.data as Message);
        ch.unref?.(); // Node: an open channel must not keep the process alive
        this.#channel = ch;
      }
    }
    global.addEventListener?.('online', this.#onWake);
    global.addEventListener?.('visibilitychange', this.#onWake);
  }

  /** The current session, or `null` when signed out. */
  get session(): { sessionId: string; expiresAt: number } | null {
    return this.#sessionId === undefined ? null : { sessionId: this.#sessionId, expiresAt: this.#expiresAt };
  }

  /** The access token's payload, decoded, not verified (the server verifies it): e.g. to show the user's name. */
  get claims(): Record<string, unknown> | null {
    const part = this.#token?.split('.')[1];
    try {
      const bytes = Uint8Array.from(atob(part!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch {
      return null; // signed out, or a token that is not a JWT
    }
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof SessionClientEvents>(event: E, listener: (payload: SessionClientEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
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
    if (this.#token === undefined) await this.#renew(this.#gen);
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
    // JSON.stringify(undefined) is undefined: no body then.
    const res = await this.#call(url, 'POST', JSON.stringify(body), key);
    if (!res.ok) throw await errorOf(res);
    const value = await bodyOf(res, valid);
    if (key !== undefined) {
      this.#key = Promise.resolve(key);
      if (this.#keyName !== undefined) await saveKey(this.#keyName, key);
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
    if (typeof url != 'string') fail('url', 'must be a string');
    // Only a web address: the page navigates to it, so a `javascript:` URL would run in this origin.
    // (test() reads a non-string as its text, and JSON has nothing whose text is a web address but a string, or an array of one.)
    return this.#begin(url, body, (b): string | undefined => (/^https?:\/\//i.test(b?.url) ? `${b.url}` : undefined));
  }

  /** Ends this browser's session (every tab of it signs out, reason `signed-out`). */
  async signOut(): Promise<void> {
    this.#announceEnding();
    const res = await this.#call(`${this.#base}/signout`, 'POST');
    if (!res.ok) throw await errorOf(res);
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
    return bodyOf(await this.#api('/sessions', 'GET'), (b): SessionView[] | undefined => (Array.isArray(b?.sessions) ? b.sessions : undefined));
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
    return bodyOf(await this.#api('/sessions/revoke-others', 'POST'), (b): number | undefined => (typeof b?.revoked === 'number' ? b.revoked : undefined));
  }

  /**
   * A valid access token: renews first when it is about to expire. Rejects
   * with `ERR_NOT_SIGNED_IN` when there is no session.
   */
  async token(): Promise<string> {
    // Offline or a failing server: the current token may still be good for a while.
    if (this.#token !== undefined && this.#stale()) await this.#renew(this.#gen).catch(() => undefined);
    if (this.#token === undefined) throw new SessionClientError('ERR_NOT_SIGNED_IN', 'not signed in');
    return this.#token;
  }

  /** Renews the access token now (one rotation, shared with the other tabs). */
  refresh(): Promise<void> {
    return this.#renew(this.#gen);
  }

  /**
   * `fetch` with `Authorization: Bearer`, or for a DPoP-bound session
   * `Authorization: DPoP` and a fresh `DPoP` proof (with `ath`). A
   * `use_dpop_nonce` challenge is retried once with the server's nonce. On a
   * 401 whose `WWW-Authenticate` says `error="invalid_token"` it renews the
   * token once and retries; when
   * the session turns out to be over, it resolves that 401 (and `signedOut`
   * fires). A `ReadableStream` body cannot be sent twice: pass a string,
   * Blob, FormData or buffer.
   */
  async fetch(input: string | URL | Request, init?: RequestInit | null): Promise<Response> {
    init ??= {}; // null, as fetch() itself accepts it
    // Another origin gets neither the token nor a renewal made for it.
    if (!this.#authorized(input)) return this.#fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : input, this.#here).href;
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    let renewed = false;
    let nonced = false;
    for (;;) {
      const token = await this.token();
      const seen = this.#gen;
      const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      const key = this.#bound ? await this.#keyNow() : undefined;
      headers.set('authorization', `${this.#bound ? 'DPoP' : 'Bearer'} ${token}`);
      if (key !== undefined) headers.set('dpop', await this.#proof(key, method, url, token));
      const res = await this.#fetch(input instanceof Request ? input.clone() : input, { ...init, headers });
      // One retry with the server's nonce (§9), which does not use up the renewal's.
      if (this.#learn(res, url) && !nonced) {
        nonced = true;
        continue;
      }
      if (renewed || res.status !== 401 || !/invalid_token/.test(res.headers.get('www-authenticate') ?? '')) return res;
      await this.#renew(seen);
      if (this.#token === undefined) return res;
      renewed = true;
    }
  }

  /** Whether a request goes to one of the origins that receive the token. */
  #authorized(input: string | URL | Request): boolean {
    try {
      return this.#origins.has(new URL(input instanceof Request ? input.url : input, this.#here).origin);
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

  #socketAuth(htu: () => string): (callback: (data: { token?: string; dpop?: string }) => void) => void {
    return (callback) => {
      this.token()
        .then(async (token) => {
          const dpop = await this.#socketProof(token, htu());
          return dpop === undefined ? { token } : { token, dpop };
        })
        .then(callback, () => callback({}));
    };
  }

  /** The proof a socket's handshake or `session:renew` carries: `GET` of the Socket.IO endpoint, `ath` of the token. */
  async #socketProof(token: string, htu: string): Promise<string | undefined> {
    const key = this.#bound ? await this.#keyNow() : undefined;
    return key === undefined ? undefined : this.#proof(key, 'GET', htu, token);
  }

  /**
   * Binds a socket.io-client socket: `session:renew` after each refresh,
   * reconnection after an expiry, and `session:revoked` turned into
   * `signedOut`. Returns the function that unbinds it.
   */
  attachSocket(socket: SocketLike): () => void {
    if (typeof socket?.on !== 'function' || typeof socket.off !== 'function') throw new SessionClientError('ERR_CONFIG_INVALID', 'attachSocket needs a socket.io-client socket');
    // The Socket.IO endpoint as engine.io requests it: the manager's origin and its path with one trailing slash, no query.
    const htu = (): string => {
      const manager = socket.io as { uri?: string; opts?: { path?: string } } | undefined;
      return `${new URL(manager?.uri ?? '/', this.#here).origin}${(manager?.opts?.path ?? '/socket.io').replace(/\/$/, '')}/`;
    };
    if (socket.auth === this.socketAuth) socket.auth = this.#socketAuth(htu);
    const bound = bindSocket(socket, {
      token: () => this.token(),
      proof: (token) => this.#socketProof(token, htu()),
      signedIn: () => this.#token !== undefined,
      renewFrom: (seen) => this.#renew(seen),
      generation: () => this.#gen,
      end: (reason) => this.#end(reason),
      ending: () => now() < this.#endingUntil,
    });
    this.#sockets.add(bound);
    return () => {
      bound.unbind();
      this.#sockets.delete(bound);
    };
  }

  /** Stops timers and the channel; the session itself stays (the cookie is the server's). */
  close(): void {
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#channel = undefined;
    global.removeEventListener?.('online', this.#onWake);
    global.removeEventListener?.('visibilitychange', this.#onWake);
    for (const bound of this.#sockets) bound.unbind();
    this.#sockets.clear();
  }

  #emit<E extends keyof SessionClientEvents>(event: E, payload: SessionClientEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(payload as never);
      } catch (error) {
        // A failing listener must not break the renewal or the sign-out that emitted; report it as uncaught.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #post(message: Message): void {
    this.#channel?.postMessage(message);
  }

  #margin(): number {
    return Math.min(60_000, this.#lifetime * this.#ahead);
  }

  #stale(): boolean {
    return now() >= this.#deadline - this.#margin();
  }

  #adopt(body: SessionBody, announce: boolean, lifetime = body?.expiresIn * 1000): void {
    // A non-finite, negative or absurd expiresIn (JSON's 1e309 is Infinity) would make every timer below fire at once.
    if (typeof body?.accessToken !== 'string' || typeof body.sessionId !== 'string' || typeof body.expiresIn !== 'number' || !sane(body.expiresIn) || !sane(lifetime / 1000)) {
      throw new SessionClientError('ERR_HTTP', 'the server answered an unexpected body');
    }
    this.#token = body.accessToken;
    if (body.sessionId !== this.#sessionId && !announce) this.#key = undefined; // a sibling's new session: its key is in IndexedDB
    this.#sessionId = body.sessionId;
    this.#bound = typeof (this.claims?.cnf as { jkt?: unknown } | undefined)?.jkt === 'string';
    this.#expiresAt = body.expiresAt;
    // expiresIn is whole seconds counted from the server's second, so up to 1 s optimistic.
    this.#deadline = now() + (body.expiresIn - 1) * 1000;
    this.#lifetime = lifetime;
    this.#gen += 1;
    this.#backoff = 0;
    // Without Web Locks, tabs that adopted the same token would all fire together: spread them
    // over half the margin, so that the first one's announcement reaches the others in time.
    let delay = this.#deadline - this.#margin() * (this.#locks === undefined ? 1 - Math.random() / 2 : 1) - now();
    // A token already due as it arrives (a server handing out dead tokens) would have the timer renew back
    // to back: back off, doubling while it goes on. A merely short-lived token is renewed no sooner than
    // RENEW_FLOOR, without the doubling: a 3 s token must still be renewed every second or so.
    if (delay <= 0) {
      delay = this.#rapid = Math.min(60_000, Math.max(RENEW_FLOOR, this.#rapid * 2));
    } else {
      delay = Math.max(RENEW_FLOOR, delay);
      this.#rapid = 0;
    }
    this.#schedule(delay);
    if (announce) this.#post({ t: 'ok', b: body, l: lifetime });
    for (const bound of this.#sockets) bound.renew(body.accessToken);
    this.#emit('refreshed', { sessionId: body.sessionId, expiresAt: body.expiresAt });
  }

  /** Resolves once the session's key is deleted from IndexedDB. */
  #end(reason: SignedOutReason, announce = true): Promise<unknown> | undefined {
    this.#gen += 1;
    const sessionId = this.#sessionId;
    if (sessionId === undefined) return;
    this.#ended.add(sessionId);
    this.#token = this.#sessionId = undefined;
    // The key goes with the session, here and in IndexedDB (unless a sibling has replaced it with a newer session's).
    const key = this.#key;
    this.#key = undefined;
    const gone = this.#keyName === undefined ? undefined : key?.then((k) => k && deleteKey(this.#keyName!, k));
    clearTimeout(this.#timer);
    if (announce) this.#post({ t: 'out', s: sessionId, r: reason });
    for (const bound of this.#sockets) bound.signedOut();
    this.#emit('signedOut', { reason });
    return gone;
  }

  #announceEnding(): void {
    if (this.#sessionId === undefined) return;
    this.#endingUntil = now() + ENDING_MS;
    this.#post({ t: 'ending', s: this.#sessionId });
  }

  #hear(message: Message): void {
    if (message?.t === 'ok') {
      // Messages may cross: never step back to an older token of the same session.
      const { sessionId, expiresAt } = message.b ?? {};
      if (sessionId !== undefined && !this.#ended.has(sessionId) && (sessionId !== this.#sessionId || expiresAt >= this.#expiresAt)) {
        this.#adopt(message.b, false, message.l);
      }
    } else if ((message?.t === 'out' || message?.t === 'ending') && message.s === this.#sessionId) {
      if (message.t === 'ending') this.#endingUntil = now() + ENDING_MS;
      else this.#end(message.r ?? 'signed-out', false);
    }
    // A sibling's renewal started, or ended (its outcome).
    if (message?.t === 'rot') this.#siblingUntil = now() + HOLDER_GRACE_MS;
    else if (message?.t !== 'ending') this.#siblingUntil = -Infinity;
    const waiting = this.#wake;
    this.#wake = [];
    for (const wake of waiting) wake();
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    const timer = setTimeout(() => this.#tick(), Math.min(MAX_DELAY, Math.max(0, delay)));
    (timer as { unref?(): void }).unref?.();
    this.#timer = timer;
  }

  /** The scheduled renewal; on failure (offline, a 5xx) it retries with backoff, and at once when the browser is back online. */
  #tick(): void {
    this.#renew(this.#gen, true).catch(() => {
      if (this.#token === undefined) return;
      this.#backoff = Math.min(15_000, Math.max(500, this.#backoff * 2));
      this.#schedule(this.#backoff);
    });
  }

  /** One renewal at a time in this tab; callers that come while one runs share it. */
  #renew(seen: number, timed = false): Promise<void> {
    return (this.#refreshing ??= this.#coordinate(seen, timed).finally(() => {
      this.#refreshing = undefined;
    }));
  }

  /**
   * One renewal at a time across the tabs (Web Locks). A tab that finds the
   * lock taken waits for it, and by then normally has the holder's result
   * (broadcast before the holder released the lock): it does not rotate
   * again. Without Web Locks only the in-tab single flight above applies.
   */
  async #coordinate(seen: number, timed: boolean): Promise<void> {
    const locks = this.#locks;
    if (locks === undefined) {
      // Best effort (see README): a sibling announced a renewal, wait for its outcome.
      while (now() < this.#siblingUntil && this.#gen === seen) await this.#heard(seen);
      if (this.#gen === seen) this.#post({ t: 'rot' });
      return this.#rotate(seen);
    }
    let queued = false;
    await locks.request(this.#lockName, { ifAvailable: true }, async (lock) => {
      if (!lock) return void (queued = true);
      // Tabs that adopted one token have their timers due together: a sibling may have rotated and released
      // the lock an instant ago, its outcome still on the channel. A timed renewal (ahead of expiry, so it
      // can wait) gives that message a moment before spending the cookie again.
      if (timed && this.#channel !== undefined) await Promise.race([this.#heard(seen), new Promise((resolve) => setTimeout(resolve, SIBLING_SETTLE_MS))]);
      return this.#rotate(seen);
    });
    if (!queued) return;
    await locks.request(this.#lockName, {}, async () => {
      // The holder posted its outcome before releasing; the message may still be on its way.
      await this.#heard(seen);
      return this.#rotate(seen);
    });
  }

  /** Resolves on the next message from a sibling, or after HOLDER_GRACE_MS; at once if the token changed since `seen`. */
  #heard(seen: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#gen !== seen) return resolve();
      const timer = setTimeout(resolve, HOLDER_GRACE_MS);
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
      if (res.ok) return this.#adopt((await res.json().catch(() => undefined)) as SessionBody, true);
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

  /** A call to a session endpoint (or the sign-in route) with the CSRF header and, with a key, a proof; one retry for a nonce. */
  async #call(url: string, method: string, body?: string, key?: DpopKey): Promise<Response> {
    key ??= await this.#keyNow();
    for (let nonced = false; ; nonced = true) {
      const headers: Record<string, string> = { [CSRF_HEADER]: '1' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (key !== undefined) headers.dpop = await this.#proof(key, method, url);
      const res = await this.#fetch(url, { method, headers, body: body ?? null, credentials: this.#credentials }).catch(() => {
        throw new SessionClientError('ERR_NETWORK', 'the server could not be reached');
      });
      if (!this.#learn(res, url) || nonced) return res;
    }
  }

  /** The session's key: this tab's, else the one the origin's tabs share in IndexedDB; undefined with DPoP off or none kept. */
  #keyNow(): Promise<DpopKey | undefined> {
    if (!this.#dpop) return Promise.resolve(undefined);
    return (this.#key ??= this.#keyName === undefined ? Promise.resolve(undefined) : loadKey(this.#keyName));
  }

  #proof(key: DpopKey, method: string, url: string, token?: string): Promise<string> {
    const full = new URL(url, this.#here);
    return proof(key, method, full.href, this.#skew, this.#nonces.get(full.origin), token);
  }

  /**
   * Keeps what a response tells about DPoP: the newest `DPoP-Nonce` of its
   * origin (§8) and, from a refusal, the server's clock (`Date`). True when the request
   * should be sent again with them: a `use_dpop_nonce` challenge (§9) with a
   * nonce, or a refused proof whose `iat` this device's clock got wrong.
   */
  #learn(res: Response, url: string): boolean {
    const nonce = res.headers.get('dpop-nonce');
    if (nonce !== null) this.#nonces.set(new URL(url, this.#here).origin, nonce);
    if (res.status !== 401 && res.status !== 400) return false;
    // The clock only from refusals: never cached, unlike a 200 whose Date may be hours old; a proof whose iat was right is never refused for it.
    const skew = this.#skew;
    this.#skew = serverSkew(res, skew);
    const challenge = res.headers.get('www-authenticate') ?? '';
    return (nonce !== null && /use_dpop_nonce/.test(challenge)) || (/invalid_dpop_proof/.test(challenge) && this.#skew !== skew);
  }

  /** A call with the access token to a session endpoint; a non-2xx answer becomes a SessionClientError. */
  async #api(path: string, method: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetch(`${this.#base}${path}`, { method, headers: { [CSRF_HEADER]: '1' }, credentials: this.#credentials });
    } catch (error) {
      throw error instanceof SessionClientError ? error : new SessionClientError('ERR_NETWORK', 'the server could not be reached');
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
}

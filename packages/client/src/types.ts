/** What the refresh endpoint and the app's sign-in route answer (ENDPOINTS.md). */
export interface SessionBody {
  accessToken: string;
  /** Unix seconds: the access token's `exp`, on the server's clock. */
  expiresAt: number;
  /** Seconds from the server's now; the client schedules from this, so its own clock never matters. */
  expiresIn: number;
  sessionId: string;
}

/** One of the user's sessions, as `GET {base}/sessions` lists them. */
export interface SessionView {
  sessionId: string;
  /** Unix seconds. */
  createdAt: number;
  lastRefreshedAt: number;
  expiresAt: number;
  /** e.g. "Firefox 140 on macOS" */
  device: string;
  ip?: string;
  /** The session of the client that asked. */
  current: boolean;
}

/**
 * Why a client signed out:
 * - `revoked`: the session was revoked (from another device, or by the server);
 * - `expired`: the session reached its refresh deadline;
 * - `reused`: an old refresh token of the session was replayed, so the server ended it;
 * - `signed-out`: this tab, or another tab of this browser, signed out;
 * - `signed-out-elsewhere`: "sign out everywhere" was used on another device.
 */
export type SignedOutReason = 'revoked' | 'expired' | 'reused' | 'signed-out' | 'signed-out-elsewhere';

/** Payloads of {@link SessionClient.on}. None carries a token. */
export interface SessionClientEvents {
  /** A token was received: sign-in, restore, refresh here or in another tab. */
  refreshed: { sessionId: string; expiresAt: number };
  signedOut: { reason: SignedOutReason };
  /**
   * A route or a socket event refused the session for want of a recent
   * authentication (RFC 9470 `insufficient_user_authentication`, the server's
   * `ERR_AUTH_NOT_FRESH`): ask the user to authenticate again, then
   * {@link SessionClient.reauthenticate}. Fired for every challenge; with the
   * `onStepUp` option, {@link SessionClient.fetch} also waits for that prompt.
   */
  stepUpRequired: StepUpChallenge;
}

/** What a step-up challenge asks for (RFC 9470 §3). */
export interface StepUpChallenge {
  /** Seconds: the authentication may be at most this old (`max_age`); absent when the server did not say. */
  maxAge?: number;
  /** Authentication context classes, one of which is needed (`acr_values`); absent when any will do. */
  acrValues?: string[];
  /** The refused Socket.IO event's name (a `session:not-fresh` from the server); absent for an HTTP request. */
  event?: string;
}

/** The part of the Web Locks API (`navigator.locks`) the client uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}

/** The part of a BroadcastChannel the client uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

/** The part of a socket.io-client `Socket` the client uses. */
export interface SocketLike {
  readonly connected: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  connect(): unknown;
  disconnect(): unknown;
  /** socket.io-client's `auth` option; {@link SessionClient.attachSocket} replaces `client.socketAuth` with the socket's own. */
  auth?: unknown;
  /** The socket's Manager: its URL and path make the `htu` of its DPoP proofs. */
  readonly io?: unknown;
}

export interface SessionClientOptions {
  /** Where the session endpoints are mounted. @default '/auth' */
  baseUrl?: string;
  /** The app's sign-in route, which answers a {@link SessionBody}. @default `${baseUrl}/sign-in` */
  signInUrl?: string;
  /** `credentials` of the calls to the session endpoints; `'include'` when they are on another origin. @default 'same-origin' */
  credentials?: 'omit' | 'same-origin' | 'include';
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Name of the Web Lock and BroadcastChannel shared by the tabs of one app;
   * `false` turns cross-tab coordination off. @default 'jwt-session'
   */
  channel?: string | false;
  /** @default navigator.locks when present; `null` for the fallback (see README) */
  locks?: LockManagerLike | null;
  /**
   * The origins (`scheme://host[:port]`) whose requests through
   * {@link SessionClient.fetch} carry the access token; a request to any other
   * origin goes out without it and never triggers a renewal. The endpoints'
   * origin (of `baseUrl`) is always one. @default the page's own origin
   */
  tokenOrigins?: string[];
  /**
   * Renew when this fraction of the access token's lifetime is left (capped at
   * 60 s ahead). @default 0.3
   */
  refreshAhead?: number;
  /**
   * Bind the session to a key of this browser (DPoP, RFC 9449): a
   * non-extractable P-256 key made at sign-in and kept in IndexedDB for the
   * origin's tabs; every call carries a proof. A server without DPoP ignores
   * it. `false`: bearer tokens only. @default true
   */
  dpop?: boolean;
  /**
   * Step-up: called when a request through {@link SessionClient.fetch} (or a
   * socket event) is refused for want of a recent authentication. Ask the
   * user (a password dialog), call {@link SessionClient.reauthenticate} with
   * what they typed (on `ERR_CREDENTIALS_INVALID`, say so and let them try
   * again), and resolve `true` once it succeeded: the request is sent again,
   * once. Resolve `false` to give up: `fetch` resolves the original 401.
   * Requests refused while a prompt is open wait for that same prompt. What
   * it throws counts as `false` (and is reported as uncaught). @default none:
   * `fetch` resolves the 401 at once (`stepUpRequired` still fires)
   */
  onStepUp?: (challenge: StepUpChallenge) => boolean | Promise<boolean>;
}

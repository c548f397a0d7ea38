import type { AccessTokenClaims, AuthenticationInput, DeviceInput, SessionContext, SessionInfo, SessionTokens, UpdateOptions, UpstreamIdentity } from '@jwt-session/session-core';
import { authenticate } from './bearer.js';
import { isHttps } from './client-address.js';
import { cookieFor, readRefreshCookies, serializeCookie, type ResolvedCookie } from './cookie.js';
import { passesCsrf } from './csrf.js';
import { describeDevice, deviceContext } from './device.js';
import { dpopChallenge, missingProof, proofThumbprint } from './dpop.js';
import { codeOf, DEAD_REFRESH_TOKEN, messageOf, SessionHttpError, statusOf, type HttpErrorCode } from './errors.js';
import { checkManager, normalizeOptions, type NormalizedOptions, type SessionEndpointsOptions, type SessionManagerLike } from './options.js';
import type { EndpointRequest, EndpointResponse } from './request.js';
import { RevocationLogEndpoint } from './revocations.js';

/** What refresh and sign-in answer. Times are Unix seconds. */
export interface SessionBody {
  accessToken: string;
  /** The access token's `exp`. */
  expiresAt: number;
  /** Seconds from the server's now until `expiresAt`, so a client need not trust its own clock. */
  expiresIn: number;
  sessionId: string;
}

/** One entry of `GET {base}/sessions`. Times are Unix seconds. */
export interface SessionView {
  sessionId: string;
  createdAt: number;
  lastRefreshedAt: number;
  expiresAt: number;
  /** "Firefox 140 on macOS". */
  device: string;
  ip?: string;
  /** The session of the access token that asked. */
  current: boolean;
  /** Whether the session is bound to a client's DPoP key (RFC 9449): a yes or no, never the key's thumbprint. */
  bound: boolean;
  /** When the user last authenticated in this session (sign-in or re-authentication); absent for a session that never recorded it. */
  authTime?: number;
  /** How (RFC 8176 method references: `pwd`, `otp`, `hwk` …). */
  amr?: string[];
  /** The authentication context class. */
  acr?: string;
  /** The identity provider the session was opened at (its issuer), for a session opened with `upstream`. */
  provider?: string;
}

/** Who the application checks a credential for, in `reauthenticateSession`: the verified access token's session. */
export interface ReauthenticationRequest {
  subject: string;
  sessionId: string;
  claims: AccessTokenClaims;
}

/**
 * The application's credential check for `reauthenticateSession`: how the
 * user just proved who they are (`{ amr: ['pwd'] }`), or `false` (or
 * undefined) when the credential is wrong: 401 ERR_CREDENTIALS_INVALID,
 * nothing rotated. What it throws is a 500 (and goes to `onError`).
 */
export type ReauthenticationCheck = (who: ReauthenticationRequest) => AuthenticationInput | false | undefined | Promise<AuthenticationInput | false | undefined>;

export interface ReauthenticateSessionOptions {
  /** Apply the same CSRF check as the endpoints. @default true */
  csrf?: boolean;
}

export interface IssueSessionOptions {
  /** Extra claims for every access token of the session. */
  claims?: Record<string, unknown>;
  /** Stored with the session, over the device context (`ip`, `userAgent`, `device`) recorded here. */
  context?: SessionContext;
  /** Apply the same CSRF check as the endpoints (Origin + `X-JWT-Session: 1`) to the sign-in request. @default true */
  csrf?: boolean;
  /**
   * The identity provider's session and user the sign-in came from (the ID
   * token's `iss`, `sub`, `sid`), so that a logout there ends this session
   * (`backchannelLogout`, `securityEvents`).
   */
  upstream?: UpstreamIdentity;
  /** How the user authenticated at this sign-in (RFC 8176 `amr`: `['pwd']`, `['pwd', 'otp']`), carried in every access token of the session. */
  amr?: readonly string[];
  /** The authentication context class reference (`acr`) of this sign-in. */
  acr?: string;
  /**
   * The DPoP key to bind the session to, proven earlier by the client: for a
   * sign-in that ends in a redirect (OpenID Connect's callback is a top-level
   * navigation, which cannot carry a proof), the thumbprint of the proof the
   * client sent when it started the sign-in. The request's own `DPoP` header
   * is then not read.
   */
  dpop?: { jkt: string };
  /**
   * Answer `303 See Other` to this path instead of `200` with the body: the
   * refresh cookie is set, the access token is not sent (a navigation has no
   * script to read it; the page's `restore()` gets one from the cookie). A
   * path on this origin only (`/…`, not `//…`), so it can never send the
   * browser elsewhere.
   */
  redirect?: string;
}

/** A same-origin path: one leading slash, no scheme, no `//host`, no backslash a browser would read as one. */
const LOCAL_PATH = /^\/(?![/\\])[^\\\s]*$/;

export type RouteName = 'refresh' | 'signout' | 'signout-everywhere' | 'sessions' | 'revoke' | 'revoke-others' | 'revocations';

export interface Route {
  name: RouteName;
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to the base path; `:sessionId` is the one parameter. */
  path: string;
}

export const ROUTES: readonly Route[] = [
  { name: 'refresh', method: 'POST', path: '/refresh' },
  { name: 'signout', method: 'POST', path: '/signout' },
  { name: 'signout-everywhere', method: 'POST', path: '/signout-everywhere' },
  { name: 'sessions', method: 'GET', path: '/sessions' },
  { name: 'revoke-others', method: 'POST', path: '/sessions/revoke-others' },
  { name: 'revoke', method: 'DELETE', path: '/sessions/:sessionId' },
];

/** Served only with the `revocations` option (see revocations.ts). */
const REVOCATIONS_ROUTE: Route = { name: 'revocations', method: 'GET', path: '/revocations' };

const JSON_TYPE = 'application/json; charset=utf-8';

function respond(status: number, body?: unknown, setCookie?: string, extra: Record<string, string> = {}): EndpointResponse {
  const response: EndpointResponse = { status, headers: { 'cache-control': 'no-store', ...extra } };
  if (body !== undefined) {
    response.headers['content-type'] = JSON_TYPE;
    response.body = JSON.stringify(body);
  }
  if (setCookie !== undefined) response.setCookie = setCookie;
  return response;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The endpoints as functions from a request to an answer, for any framework:
 * the Express and Fastify adapters only translate. Validates its options at
 * construction; `handle` and `issue` never reject.
 */
export class SessionEndpoints {
  readonly manager: SessionManagerLike;
  readonly options: NormalizedOptions;
  /** The routes this instance serves. */
  readonly routes: readonly Route[];
  readonly #revocations: RevocationLogEndpoint | undefined;

  /** `mountPrefix`: what the framework puts before every route path (a Fastify scope's prefix). */
  constructor(manager: unknown, options?: SessionEndpointsOptions, mountPrefix = '') {
    this.manager = checkManager(manager);
    this.options = normalizeOptions(options, mountPrefix);
    this.#revocations = this.options.revocations === undefined ? undefined : new RevocationLogEndpoint(this.options.revocations);
    this.routes = this.#revocations === undefined ? ROUTES : [...ROUTES, REVOCATIONS_ROUTE];
  }

  /** The route for a method and a raw (still percent-encoded) path, or undefined when it is not one of ours. */
  match(method: string, pathname: string): { route: RouteName; sessionId?: string } | undefined {
    const base = this.options.basePath;
    if (!pathname.startsWith(`${base}/`)) return undefined;
    const rest = pathname.slice(base.length);
    for (const route of this.routes) {
      if (route.method !== method) continue;
      if (route.path === rest) return { route: route.name };
      if (route.name === 'revoke' && rest.startsWith('/sessions/')) {
        const raw = rest.slice('/sessions/'.length);
        if (raw === '' || raw.includes('/')) continue;
        try {
          return { route: 'revoke', sessionId: decodeURIComponent(raw) };
        } catch {
          return { route: 'revoke', sessionId: '' };
        }
      }
    }
    return undefined;
  }

  async handle(route: RouteName, req: EndpointRequest, sessionId = ''): Promise<EndpointResponse> {
    try {
      // A poller's GET with its own credential; nothing a browser sends can pass it.
      if (route === 'revocations' && this.#revocations !== undefined) {
        const answer = await this.#revocations.handle(req);
        return 'code' in answer ? this.#failure(answer.code) : answer;
      }
      if (route !== 'sessions' && !passesCsrf(req, this.options)) return this.#failure('ERR_CSRF');
      switch (route) {
        case 'refresh':
          return this.#withNonce(await this.#refresh(req));
        case 'signout':
          return this.#withNonce(await this.#signOut(req));
        default:
          return await this.#withBearer(route, req, sessionId);
      }
    } catch (error) {
      return this.#failure(codeOf(error), error);
    }
  }

  /** Opens a session for `subject` and answers like refresh: the app's sign-in route calls this once the user is verified. */
  async issue(req: EndpointRequest, subject: string, options: IssueSessionOptions = {}): Promise<{ response: EndpointResponse; body?: SessionBody }> {
    try {
      // The caller's mistake: answered like any failure (500, fixed text), the detail to onError; checked before anything is made.
      if (options.redirect !== undefined && (typeof options.redirect !== 'string' || !LOCAL_PATH.test(options.redirect))) {
        throw new SessionHttpError('ERR_CONFIG_INVALID', 'issueSession: redirect must be a path on this origin, such as "/"');
      }
      if (options.csrf !== false && !passesCsrf(req, this.options)) return { response: this.#failure('ERR_CSRF') };
      // RFC 9449 §5: a proof at sign-in binds the new session to the client's key; or the key proven when the sign-in began.
      const jkt = options.dpop !== undefined ? options.dpop.jkt : await this.#proof(req, req.url);
      if (jkt === undefined && this.options.dpop?.required === true) throw missingProof();
      const context = { ...deviceContext(req, this.options.trustProxy), ...options.context };
      const tokens = await this.manager.create(subject, {
        ...(options.claims === undefined ? {} : { claims: options.claims }),
        context,
        ...(jkt === undefined ? {} : { dpop: { jkt } }),
        ...(options.upstream === undefined ? {} : { upstream: options.upstream }),
        ...this.#device(req),
        ...(options.amr === undefined ? {} : { amr: options.amr }),
        ...(options.acr === undefined ? {} : { acr: options.acr }),
      });
      const { response, body } = this.#session(req, tokens);
      if (typeof options.redirect === 'string') {
        // RFC 9110 §15.4.4: 303, so the browser follows with a GET whatever the method was.
        const redirect = respond(303, undefined, response.setCookie, { location: options.redirect });
        return { response: this.#withNonce(redirect), body };
      }
      return { response: this.#withNonce(response), body };
    } catch (error) {
      return { response: this.#failure(codeOf(error), error) };
    }
  }

  /**
   * Re-authentication ("enter your password again" before a sensitive
   * action): the application's route at `POST {base}/reauthenticate` (under
   * the cookie's Path) calls this. Needs the session's access token (who) and
   * its refresh cookie (the rotation), passes CSRF like every POST, asks
   * `check` about the credential, then stamps the session with the new
   * authentication and answers like refresh: 200, a new cookie and the body.
   * A DPoP-bound session's access token passes only with a proof by its key
   * (as on every bearer endpoint), and that key rotates the refresh token.
   */
  async reauthenticate(req: EndpointRequest, check: ReauthenticationCheck, options: ReauthenticateSessionOptions = {}): Promise<{ response: EndpointResponse; body?: SessionBody }> {
    try {
      if (options.csrf !== false && !passesCsrf(req, this.options)) return { response: this.#failure('ERR_CSRF') };
      const auth = await authenticate(req, this.manager, this.options);
      if ('code' in auth) return { response: this.#failure(auth.code, auth.error) };
      const tokens = this.#refreshTokens(req);
      if (tokens === undefined || tokens.length > 1) return { response: this.#failure('ERR_REFRESH_COOKIE_AMBIGUOUS') };
      // No cookie: this browser cannot rotate the session (a token copied elsewhere); nothing to clear.
      if (tokens.length === 0) return { response: this.#failure('ERR_REFRESH_TOKEN_INVALID') };
      const { sub: subject, sid: sessionId, cnf } = auth.claims as AccessTokenClaims & { cnf?: { jkt?: string } };
      const authentication = await check({ subject, sessionId, claims: auth.claims });
      if (authentication === false || authentication === undefined || authentication === null) return { response: this.#failure('ERR_CREDENTIALS_INVALID') };
      if (typeof this.manager.reauthenticate !== 'function') throw new TypeError('the manager has no reauthenticate()');
      let session: SessionTokens;
      try {
        const { authTime, amr, acr } = authentication;
        // authenticate() checked the request's proof against the access token's key: the same key rotates the refresh token.
        const dpop = cnf?.jkt === undefined ? undefined : { jkt: cnf.jkt };
        session = await this.manager.reauthenticate(subject, sessionId, { refreshToken: tokens[0]!, authTime, amr, acr, dpop });
      } catch (error) {
        const code = codeOf(error);
        return { response: this.#failure(code, error, DEAD_REFRESH_TOKEN.has(code) ? this.#clear(req) : undefined) };
      }
      const { response, body } = this.#session(req, session);
      return { response: this.#withNonce(response), body };
    } catch (error) {
      return { response: this.#failure(codeOf(error), error) };
    }
  }

  /** The thumbprint of the request's DPoP proof for `path`, checked; undefined without one or with DPoP off. */
  async #proof(req: EndpointRequest, path: string | undefined): Promise<string | undefined> {
    const dpop = this.options.dpop;
    return dpop === undefined ? undefined : proofThumbprint(dpop, req, path, this.options.trustProxy);
  }

  /** RFC 9449 §8.2: a server using nonces may send a fresh one with any answer; the client keeps the newest. */
  #withNonce(response: EndpointResponse): EndpointResponse {
    const nonces = this.options.dpop?.nonces;
    if (nonces !== undefined) response.headers['dpop-nonce'] = nonces.current();
    return response;
  }

  #cookie(req: EndpointRequest): ResolvedCookie {
    return cookieFor(this.options.cookie, isHttps(req, this.options.trustProxy));
  }

  #clear(req: EndpointRequest): string {
    return serializeCookie(this.options.cookie, this.#cookie(req), '', 0);
  }

  #session(req: EndpointRequest, tokens: SessionTokens): { response: EndpointResponse; body: SessionBody } {
    const now = nowSeconds();
    const body: SessionBody = {
      accessToken: tokens.accessToken,
      expiresAt: tokens.accessTokenExpiresAt,
      expiresIn: Math.max(0, tokens.accessTokenExpiresAt - now),
      sessionId: tokens.sessionId,
    };
    // Rounded down so the cookie never outlives the session (the deadline is rounded up to whole seconds);
    // at least 1, since Max-Age=0 would delete the cookie of a session with under a second to live; at most
    // 400 days (serializeCookie): a longer session keeps its cookie only by being refreshed within that time.
    const maxAge = Math.max(1, Math.floor(tokens.refreshTokenExpiresAt - Date.now() / 1000));
    return { response: respond(200, body, serializeCookie(this.options.cookie, this.#cookie(req), tokens.refreshToken, maxAge)), body };
  }

  /**
   * The answer to a failure. `error`, what a manager call threw, goes to
   * `onError` whatever the status: a SessionError's `reason` says why a token
   * was refused, for the operator; the client gets the code and its fixed text.
   */
  #failure(code: HttpErrorCode, error?: unknown, setCookie?: string): EndpointResponse {
    const status = statusOf(code);
    if (error !== undefined) this.#report(error);
    const extra: Record<string, string> = {};
    // RFC 6750 §3: a bare challenge when no token was sent, error="…" otherwise.
    if (code === 'ERR_AUTH_TOKEN_REQUIRED') extra['www-authenticate'] = 'Bearer';
    else if (code === 'ERR_AUTH_HEADER_MALFORMED') extra['www-authenticate'] = 'Bearer error="invalid_request"';
    else if (code === 'ERR_AUTH_TOKEN_INVALID' || code === 'ERR_AUTH_TOKEN_EXPIRED' || code === 'ERR_SESSION_REVOKED') extra['www-authenticate'] = 'Bearer error="invalid_token"';
    else Object.assign(extra, dpopChallenge(code, this.options.dpop));
    return respond(status, { error: code, message: messageOf(code) }, setCookie, extra);
  }

  #report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A failing logger must not turn a 500 answer into a crash.
    }
  }

  /** The `device` option's answer for the request, as create/update options (the manager checks it). */
  #device(req: EndpointRequest): { device?: DeviceInput } {
    const device = this.options.device?.(req);
    return device === undefined ? {} : { device };
  }

  /** The refresh cookie's values (see `readRefreshCookies`), or undefined when too many came to look at. */
  #refreshTokens(req: EndpointRequest): string[] | undefined {
    return readRefreshCookies(req.headers.cookie, this.#cookie(req).name);
  }

  async #refresh(req: EndpointRequest): Promise<EndpointResponse> {
    const tokens = this.#refreshTokens(req);
    // Simply signed out: not an error, so a page restoring its session on load logs nothing.
    if (tokens?.length === 0) return respond(204);
    // Two candidates: using either might sign the user in as whoever tossed the other one, and
    // clearing "the" cookie would delete the genuine one (host-only) while the tossed one stays.
    if (tokens?.length !== 1) return this.#failure('ERR_REFRESH_COOKIE_AMBIGUOUS');
    const update: UpdateOptions = { context: deviceContext(req, this.options.trustProxy), ...this.#device(req) };
    // A bad proof is refused here, the cookie kept; the manager refuses a bound session without its key (cookie kept too: it may be the victim's, tried by someone else).
    if (this.options.dpop !== undefined) update.dpop = { jkt: await this.#proof(req, `${this.options.basePath}/refresh`), required: this.options.dpop.required };
    let session: SessionTokens;
    try {
      session = await this.manager.update(tokens[0]!, update);
    } catch (error) {
      const code = codeOf(error);
      // A refresh token refused once never works again; a store outage keeps the cookie for a retry. So does a
      // reuse the manager's policy only refused (`revoked: false`): the browser's cookie may already be the
      // current token another tab set, and clearing it would end the session the policy kept.
      const kept = (error as { revoked?: unknown } | null)?.revoked === false;
      return this.#failure(code, error, DEAD_REFRESH_TOKEN.has(code) && !kept ? this.#clear(req) : undefined);
    }
    return this.#session(req, session).response;
  }

  /**
   * Ends the cookie's session. session-core exposes no lookup from a refresh
   * token to its subject, so the token is rotated (which proves it genuine and
   * names the session) and the session then deleted. A token that is already
   * dead has no live session to end: its reuse, if it was reuse, already
   * revoked the session. With several refresh cookies (one tossed in), each
   * one's session is ended: signing out must not be something a tossed cookie
   * can prevent, and ending the tosser's own session harms no one else.
   */
  async #signOut(req: EndpointRequest): Promise<EndpointResponse> {
    const tokens = this.#refreshTokens(req);
    if (tokens === undefined) return this.#failure('ERR_REFRESH_COOKIE_AMBIGUOUS');
    // A bound session is ended only with a proof by its key; not `required`: an unbound session can always be ended.
    const update: UpdateOptions | undefined = tokens.length === 0 || this.options.dpop === undefined ? undefined : { dpop: { jkt: await this.#proof(req, `${this.options.basePath}/signout`) } };
    for (const token of tokens) {
      let session: SessionTokens;
      try {
        session = await this.manager.update(token, update);
      } catch (error) {
        const code = codeOf(error);
        // A bound session without its key: not this client's to end (a copied cookie); its holder still can.
        if (DEAD_REFRESH_TOKEN.has(code) || code === 'ERR_DPOP_BINDING_MISMATCH') continue;
        return this.#failure(code, error);
      }
      const claims = await this.manager.read(session.accessToken);
      await this.manager.deleteOne(claims.sub, claims.sid);
    }
    return respond(204, undefined, this.#clear(req));
  }

  async #withBearer(route: RouteName, req: EndpointRequest, sessionId: string): Promise<EndpointResponse> {
    const auth = await authenticate(req, this.manager, this.options);
    if ('code' in auth) return this.#failure(auth.code, auth.error);
    const { sub, sid } = auth.claims;
    switch (route) {
      case 'signout-everywhere':
        await this.manager.deleteAll(sub);
        return respond(204, undefined, this.#clear(req));
      case 'sessions': {
        const sessions = await this.manager.readAll(sub);
        return respond(200, { sessions: sessions.map((s) => view(s, sid)) });
      }
      case 'revoke': {
        if (!(await this.manager.deleteOne(sub, sessionId))) return this.#failure('ERR_SESSION_NOT_FOUND');
        // Revoking one's own session from the list is signing out: the cookie goes too.
        return respond(204, undefined, sessionId === sid ? this.#clear(req) : undefined);
      }
      default:
        return respond(200, { revoked: await this.manager.deleteOthers(sub, sid) });
    }
  }
}

function view(info: SessionInfo, currentSessionId: string): SessionView {
  const { device, ip, userAgent } = info.context;
  const out: SessionView = {
    sessionId: info.sessionId,
    createdAt: info.createdAt,
    lastRefreshedAt: info.lastRefreshedAt,
    expiresAt: info.expiresAt,
    device: typeof device === 'string' && device !== '' ? device : describeDevice(typeof userAgent === 'string' ? userAgent : undefined),
    current: info.sessionId === currentSessionId,
    bound: info.dpop !== undefined,
  };
  if (typeof ip === 'string' && ip !== '') out.ip = ip;
  // How and when the user last proved who they are, so "my sessions" can tell a fresh sign-in from a month-old one.
  if (info.authTime !== undefined) out.authTime = info.authTime;
  if (info.amr !== undefined) out.amr = info.amr;
  if (info.acr !== undefined) out.acr = info.acr;
  if (info.upstream !== undefined) out.provider = info.upstream.issuer;
  return out;
}

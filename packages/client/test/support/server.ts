// A real app for the client to talk to: @jwt-session/http's endpoints on
// node:http over a real manager (memory storage), a sign-in route, two API
// routes, and Socket.IO guarded by the real session guard. With `dpop`, the
// endpoints bind sessions to the client's key and the API routes check each
// bound request's proof with session-core's checkBoundRequest (RFC 9449 §7.1).
import { sessionRouter, type DpopEndpointOptions } from '@jwt-session/http';
import { JwtUserSessionManager, checkBoundRequest, isSessionError, publicRequestUrl, SESSION_REFRESHED, verifyDpopProof, type DpopNonces, type RefreshTokenStore } from '@jwt-session/session-core';
import { randomUUID } from 'node:crypto';
import { attachSessionGuard, requireFresh, requireFreshEvents } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export const PASSWORD = 'correct horse';

export interface TestServer {
  url: string;
  manager: JwtUserSessionManager;
  io: Server;
  /** Rotations the manager made (SESSION_REFRESHED events). */
  rotations(): number;
  /** When each rotation happened, ms. */
  rotationTimes: number[];
  /** Calls to POST /auth/refresh, by status. */
  refreshCalls: Map<number, number>;
  /** Every request's `Authorization` and `DPoP` headers, as received (what a wire-tapper sees). */
  seen: { route: string; authorization?: string; dpop?: string }[];
  /** The DPoP challenges (`WWW-Authenticate: DPoP ...`) answered, by route. */
  challenges: { route: string; error: string }[];
  /** Calls to POST /auth/reauthenticate, by status. */
  reauthCalls: Map<number, number>;
  /** Requests that reached the handler of a step-up route (past requireFresh). */
  freshServed: string[];
  /** `GET /api/me` answers 401 invalid_token to the next N calls (a token the API no longer takes). */
  rejectNext(n: number): void;
  close(): Promise<void>;
  /** Stops accepting connections (the client sees network errors) and starts again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface TestServerOptions {
  accessTokenTtl?: number;
  refreshTokenReuseInterval?: number;
  refreshTokenTtl?: number;
  /** The endpoints' `dpop` option; the API routes then check bound requests with the same replay cache and nonces. */
  dpop?: DpopEndpointOptions & { nonces?: DpopNonces };
  /** Share one store between servers (nodes of one deployment). */
  refreshTokenStore?: RefreshTokenStore;
  /** Routes serve this origin's URLs (the load balancer's), for every node of a deployment. */
  publicOrigin?: string;
  /** Answers `GET /` (a page) and `GET /client.js` (the client bundle) for a browser. */
  page?: { html: string; script: Buffer | string };
  /** Listen on this port. @default a free one */
  port?: number;
  /** `GET /api/skewed` checks proofs on a clock this many seconds ahead and says so in its `Date` header. */
  skew?: number;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  // setHeader, not writeHead's object: getHeader (the challenge log) sees these.
  for (const [name, value] of Object.entries({ 'cache-control': 'no-store', ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), ...headers })) res.setHeader(name, value);
  res.writeHead(status);
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: 'client-test-secret-of-at-least-32-bytes' },
    issuer: 'urn:test',
    audience: 'urn:test',
    accessTokenTtl: options.accessTokenTtl ?? 60,
    refreshTokenReuseInterval: options.refreshTokenReuseInterval ?? 0,
    ...(options.refreshTokenTtl === undefined ? {} : { refreshTokenTtl: options.refreshTokenTtl }),
    refreshTokenStore: options.refreshTokenStore ?? new MemoryRefreshTokenStore(),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  });
  await manager.ready();
  const rotationTimes: number[] = [];
  manager.on(SESSION_REFRESHED, () => void rotationTimes.push(Date.now()));
  const refreshCalls = new Map<number, number>();
  const reauthCalls = new Map<number, number>();
  const freshServed: string[] = [];
  let rejecting = 0;
  // Step-up (issue 22): a plain sign-in records no `amr`, so these routes refuse it until a re-authentication
  // with the password ({ amr: ['pwd'] }); `loa2` is never reached with a password alone.
  const fresh = requireFresh({ maxAge: 300, amr: ['pwd'] });
  const loa2 = requireFresh({ maxAge: 300, acr: ['loa2'] });

  const dpop = options.dpop;
  const sessions = sessionRouter(manager, { basePath: '/auth', ...(dpop === undefined ? {} : { dpop: { ...dpop, ...(options.publicOrigin === undefined ? {} : { publicOrigin: options.publicOrigin }) } }) });
  const seen: TestServer['seen'] = [];
  /** Redirect sign-ins begun: state → the key their start proved (undefined: no proof). */
  const pending = new Map<string, string | undefined>();
  /** This server's origin, known once it listens. */
  let url = '';
  const challenges: TestServer['challenges'] = [];
  const countRefreshes = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST' || req.url !== '/auth/refresh') return;
    res.once('finish', () => refreshCalls.set(res.statusCode, (refreshCalls.get(res.statusCode) ?? 0) + 1));
  };

  async function bearer(req: IncomingMessage, res: ServerResponse, now?: number) {
    const [, scheme, token] = /^(Bearer|DPoP) (.+)$/.exec(req.headers.authorization ?? '') ?? [];
    try {
      if (token === undefined) throw new Error('no token');
      const claims = await manager.read(token);
      const url = options.publicOrigin === undefined ? `http://${req.headers.host}${req.url}` : publicRequestUrl(options.publicOrigin, req.url);
      await checkBoundRequest({ claims, accessToken: token, scheme, proof: req.headers.dpop, method: req.method!, url, replayCache: dpop?.replayCache, nonce: dpop?.nonces, now });
      return claims;
    } catch (error) {
      const code = isSessionError(error) ? error.code : 'ERR_AUTH_TOKEN_REQUIRED';
      const reason = isSessionError(error) ? error.reason : undefined;
      const headers: Record<string, string> = { 'www-authenticate': 'Bearer error="invalid_token"' };
      if (code.startsWith('ERR_DPOP_')) {
        const error = code === 'ERR_DPOP_NONCE_REQUIRED' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
        headers['www-authenticate'] = `DPoP error="${error}", algs="ES256"`;
        if (dpop?.nonces !== undefined) headers['dpop-nonce'] = dpop.nonces.current();
      }
      if (now !== undefined) headers.date = new Date(now).toUTCString();
      send(res, 401, { error: code, reason, message: 'The access token was refused.' }, headers);
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = `${req.method} ${path}`;
    seen.push({ route, ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }), ...(typeof req.headers.dpop === 'string' ? { dpop: req.headers.dpop } : {}) });
    res.once('finish', () => {
      const error = /^DPoP error="([a-z_]+)"/.exec(String(res.getHeader('www-authenticate') ?? ''))?.[1];
      if (error !== undefined) challenges.push({ route, error });
    });
    if (options.page !== undefined && (route === 'GET /' || route === 'GET /client.js')) {
      res.writeHead(200, { 'content-type': `text/${route === 'GET /' ? 'html' : 'javascript'}; charset=utf-8`, 'cache-control': 'no-store' });
      return void res.end(route === 'GET /' ? options.page.html : options.page.script);
    }
    if (route === 'GET /favicon.ico') return send(res, 204);
    if (route === 'POST /auth/sign-in') {
      const body = await readBody(req);
      if (body.password !== PASSWORD) return send(res, 401, { error: 'ERR_BAD_CREDENTIALS', message: 'Wrong user name or password.' });
      await sessions.issueSession(req, res, String(body.username), { claims: { name: `User ${String(body.username)}` } });
      return;
    }
    if (route === 'POST /auth/reauthenticate') {
      const { password } = await readBody(req);
      res.once('finish', () => reauthCalls.set(res.statusCode, (reauthCalls.get(res.statusCode) ?? 0) + 1));
      await sessions.reauthenticateSession(req, res, () => (password === PASSWORD ? { amr: ['pwd'] } : false));
      return;
    }
    // A redirect sign-in (what an OpenID Connect login does, the provider left out): the start records the
    // proof's key by state and answers where to go; the callback, a navigation, opens the session bound to it.
    if (route === 'POST /auth/oidc/start' || route === 'POST /auth/oidc/start-hostile') {
      if (req.headers['x-jwt-session'] !== '1') return send(res, 403, { error: 'ERR_CSRF', message: 'No.' });
      const state = randomUUID();
      const proof = typeof req.headers.dpop === 'string' ? verifyDpopProof(req.headers.dpop, { method: 'POST', url: `${url}${path}` }) : undefined;
      pending.set(state, proof?.jkt);
      return send(res, 200, { url: route.endsWith('hostile') ? 'javascript:alert(1)' : `${url}/auth/oidc/callback?state=${state}` });
    }
    if (route === 'GET /auth/oidc/callback') {
      const state = new URL(req.url!, url).searchParams.get('state') ?? '';
      if (!pending.has(state)) return send(res, 400, { error: 'ERR_STATE', message: 'Unknown state.' });
      const jkt = pending.get(state);
      pending.delete(state);
      await sessions.issueSession(req, res, 'oidc-user', { csrf: false, redirect: '/', ...(jkt === undefined ? {} : { dpop: { jkt } }) });
      return;
    }
    if (path.startsWith('/auth/')) {
      countRefreshes(req, res);
      return new Promise<void>((resolve, reject) => {
        res.once('close', resolve);
        sessions(req, res, (error?: unknown) => (error === undefined ? send(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' }) : reject(error)));
      });
    }
    const skewed = route === 'GET /api/skewed' && options.skew !== undefined ? Date.now() + options.skew * 1000 : undefined;
    const auth = await bearer(req, res, skewed);
    if (auth === undefined) return;
    if (skewed !== undefined) return send(res, 200, { sub: auth.sub }, { date: new Date(skewed).toUTCString() });
    if (route === 'GET /api/me') {
      if (rejecting > 0) {
        rejecting -= 1;
        return send(res, 401, { error: 'ERR_AUTH_TOKEN_EXPIRED', message: 'Expired.' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      return send(res, 200, { sub: auth.sub, sid: auth.sid, auth: req.headers.authorization });
    }
    if (route === 'POST /api/fresh' || route === 'GET /api/loa2') {
      const request = Object.assign(req, { auth: { claims: auth } as never });
      const passed = await new Promise<boolean>((resolve) => {
        res.once('finish', () => resolve(false));
        (route === 'GET /api/loa2' ? loa2 : fresh)(request, res, () => resolve(true));
      });
      if (!passed) return;
      freshServed.push(route);
      return send(res, 200, { ok: true, sid: auth.sid, amr: auth.amr });
    }
    // Another server's RFC 9470 challenge: the header alone, no JSON body (or one the browser hides: CORS).
    if (route === 'GET /api/bare') return send(res, 401, undefined, { 'www-authenticate': 'Bearer error="insufficient_user_authentication", max_age=60' });
    if (route === 'GET /api/forbidden') return send(res, 401, { error: 'ERR_OTHER', message: 'No.' }, { 'www-authenticate': 'Bearer realm="x"' });
    send(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' });
  }

  const http = createServer((req, res) => void handle(req, res).catch(() => send(res, 500, { error: 'ERR_INTERNAL', message: 'Failed.' })));
  const io = new Server(http);
  // The guard checks bound tokens' proofs too (handshake and session:renew), with the endpoints' replay cache and nonces.
  const guard = attachSessionGuard(io, manager, dpop === undefined ? {} : { dpop: { ...dpop, ...(options.publicOrigin === undefined ? {} : { publicOrigin: options.publicOrigin }) } });
  io.use(requireFreshEvents({ transfer: { maxAge: 300, amr: ['pwd'] } }));
  io.on('connection', (socket) => socket.on('transfer', (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack === 'function') ack({ ok: true });
  }));
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    io.disconnectSockets(true);
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    manager,
    io,
    rotations: () => rotationTimes.length,
    rotationTimes,
    refreshCalls,
    reauthCalls,
    freshServed,
    seen,
    challenges,
    rejectNext: (n) => void (rejecting = n),
    stop,
    start: () => new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve)),
    async close() {
      guard.close();
      io.close();
      await stop().catch(() => undefined);
      await manager.close();
    },
  };
}

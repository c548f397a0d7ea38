// A session server that follows ENDPOINTS.md over a real manager (memory
// storage), with Socket.IO guarded by the real session guard. It stands in
// for @jwt-session/http in these tests until that package is merged.
import { JwtUserSessionManager, isSessionError, SESSION_REFRESHED, type SessionTokens } from '@jwt-session/session-core';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export const COOKIE = 'jwt-session-refresh';
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
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'cache-control': 'no-store', ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value) return value;
  }
  return undefined;
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
    refreshTokenStore: new MemoryRefreshTokenStore(),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  });
  await manager.ready();
  const rotationTimes: number[] = [];
  manager.on(SESSION_REFRESHED, () => void rotationTimes.push(Date.now()));
  const refreshCalls = new Map<number, number>();
  let rejecting = 0;

  const sessionBody = (tokens: SessionTokens) => ({
    accessToken: tokens.accessToken,
    expiresAt: tokens.accessTokenExpiresAt,
    expiresIn: tokens.accessTokenExpiresAt - Math.floor(Date.now() / 1000),
    sessionId: tokens.sessionId,
  });
  const setCookie = (value: string, maxAge: number) => ({ 'set-cookie': `${COOKIE}=${value}; Path=/auth; Max-Age=${maxAge}; HttpOnly; SameSite=Strict` });
  const clearCookie = setCookie('', 0);

  async function bearer(req: IncomingMessage, res: ServerResponse) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    try {
      if (token === undefined) throw new Error('no token');
      return await manager.read(token);
    } catch (error) {
      const code = isSessionError(error) ? error.code : 'ERR_AUTH_TOKEN_REQUIRED';
      send(res, 401, { error: code, message: 'The access token was refused.' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = `${req.method} ${path}`;
    if (req.method !== 'GET' && req.headers['x-jwt-session'] !== '1') return send(res, 403, { error: 'ERR_CSRF', message: 'Refused: missing CSRF header.' });
    if (route === 'POST /auth/sign-in') {
      const body = await readBody(req);
      if (body.password !== PASSWORD) return send(res, 401, { error: 'ERR_BAD_CREDENTIALS', message: 'Wrong user name or password.' });
      const tokens = await manager.create(String(body.username), { claims: { name: `User ${String(body.username)}` } });
      return send(res, 201, sessionBody(tokens), setCookie(tokens.refreshToken, 3600));
    }
    if (route === 'POST /auth/refresh') {
      const cookie = cookieOf(req);
      const answer = (status: number, body?: unknown, headers?: Record<string, string>) => {
        refreshCalls.set(status, (refreshCalls.get(status) ?? 0) + 1);
        send(res, status, body, headers);
      };
      if (cookie === undefined) return answer(204);
      try {
        const tokens = await manager.update(cookie);
        return answer(200, sessionBody(tokens), setCookie(tokens.refreshToken, 3600));
      } catch (error) {
        const code = isSessionError(error) ? error.code : 'ERR_INTERNAL';
        return answer(code.startsWith('ERR_REFRESH') ? 401 : 500, { error: code, message: 'Refused.' }, clearCookie);
      }
    }
    if (route === 'POST /auth/signout') {
      const cookie = cookieOf(req);
      const sessionId = cookie?.split('.')[0];
      if (cookie !== undefined) {
        // The cookie names its session; find the subject among the live sessions.
        for (const sub of subjects) if ((await manager.readAll(sub)).some((s) => s.sessionId === sessionId)) await manager.deleteOne(sub, sessionId!);
      }
      return send(res, 204, undefined, clearCookie);
    }
    const auth = await bearer(req, res);
    if (auth === undefined) return;
    if (route === 'GET /api/me') {
      if (rejecting > 0) {
        rejecting -= 1;
        return send(res, 401, { error: 'ERR_AUTH_TOKEN_EXPIRED', message: 'Expired.' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      return send(res, 200, { sub: auth.sub, sid: auth.sid, auth: req.headers.authorization });
    }
    if (route === 'GET /api/forbidden') return send(res, 401, { error: 'ERR_OTHER', message: 'No.' }, { 'www-authenticate': 'Bearer realm="x"' });
    if (route === 'POST /auth/signout-everywhere') {
      await manager.deleteAll(auth.sub);
      return send(res, 204, undefined, clearCookie);
    }
    if (route === 'GET /auth/sessions') {
      const sessions = await manager.readAll(auth.sub);
      return send(res, 200, {
        sessions: sessions.map((s) => ({ sessionId: s.sessionId, createdAt: s.createdAt, lastRefreshedAt: s.lastRefreshedAt, expiresAt: s.expiresAt, device: 'Node', current: s.sessionId === auth.sid })),
      });
    }
    if (route === 'POST /auth/sessions/revoke-others') {
      let revoked = 0;
      for (const s of await manager.readAll(auth.sub)) if (s.sessionId !== auth.sid && (await manager.deleteOne(auth.sub, s.sessionId))) revoked += 1;
      return send(res, 200, { revoked });
    }
    const one = /^DELETE \/auth\/sessions\/([^/]+)$/.exec(route);
    if (one !== null) {
      const ok = await manager.deleteOne(auth.sub, decodeURIComponent(one[1]!));
      return ok ? send(res, 204) : send(res, 404, { error: 'ERR_SESSION_NOT_FOUND', message: 'No such session.' });
    }
    send(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' });
  }

  // Subjects signed in through this server, for sign-out by cookie.
  const subjects = new Set<string>();
  manager.on('sessionCreated', (event) => void subjects.add(event.subject));

  const http = createServer((req, res) => void handle(req, res).catch(() => send(res, 500, { error: 'ERR_INTERNAL', message: 'Failed.' })));
  const io = new Server(http);
  const guard = attachSessionGuard(io, manager);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
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

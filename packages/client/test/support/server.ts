// A real app for the client to talk to: @jwt-session/http's endpoints on
// node:http over a real manager (memory storage), a sign-in route, two API
// routes, and Socket.IO guarded by the real session guard.
import { sessionRouter } from '@jwt-session/http';
import { JwtUserSessionManager, isSessionError, SESSION_REFRESHED } from '@jwt-session/session-core';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
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

  const sessions = sessionRouter(manager, { basePath: '/auth' });
  const countRefreshes = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST' || req.url !== '/auth/refresh') return;
    res.once('finish', () => refreshCalls.set(res.statusCode, (refreshCalls.get(res.statusCode) ?? 0) + 1));
  };

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
    if (route === 'POST /auth/sign-in') {
      const body = await readBody(req);
      if (body.password !== PASSWORD) return send(res, 401, { error: 'ERR_BAD_CREDENTIALS', message: 'Wrong user name or password.' });
      await sessions.issueSession(req, res, String(body.username), { claims: { name: `User ${String(body.username)}` } });
      return;
    }
    if (path.startsWith('/auth/')) {
      countRefreshes(req, res);
      return new Promise<void>((resolve, reject) => {
        res.once('close', resolve);
        sessions(req, res, (error?: unknown) => (error === undefined ? send(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' }) : reject(error)));
      });
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
    send(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' });
  }

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

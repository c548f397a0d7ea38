// startDemo(): builds one demo node and starts listening. What is the demo's
// own: the user list and sign-in check (users.ts, sign-in.ts, throttle.ts),
// the chat (chat.ts) and the page (public/). The session endpoints come from
// @jwt-session/http, the API guard and socket guard from
// @jwt-session/socketio-adapter, the page's session handling from
// @jwt-session/client (served as /client.js).
import { sessionRouter, type SessionRouter } from '@jwt-session/http';
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { httpAuth, type AuthContext } from '@jwt-session/socketio-adapter';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { createBackend, type Backend } from './backend.js';
import { demoMetrics } from './metrics.js';
import { attachChat } from './chat.js';
import { bundleClient } from './client-bundle.js';
import { resolveConfig, type DemoOptions } from './config.js';
import { sensitiveRoutes } from './sensitive.js';
import { OIDC_BASE, oidcRoutes, type OidcRoutes } from './oidc.js';
import { signIn } from './sign-in.js';
import { SECURITY_HEADERS, loadPublicFiles, serveStatic } from './static.js';
import { SignInThrottle } from './throttle.js';
import { DEMO_USERS, UserDirectory } from './users.js';

export type { DemoOptions } from './config.js';

export interface DemoNode {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  storage: Backend['kind'];
  manager: JwtUserSessionManager;
  io: Server;
  users: UserDirectory;
  close(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoNode> {
  const config = resolveConfig(options);
  const log = (line: string): void => {
    if (config.log) console.log(`[demo ${config.port}] ${line}`);
  };
  const backend = await createBackend(config, log);
  const metrics = config.metrics ? demoMetrics() : undefined;
  const manager = new JwtUserSessionManager({
    keys: { kid: 'demo-hs256-1', algorithm: 'HS256', secret: config.secret },
    issuer: 'urn:jwt-session:demo',
    audience: 'urn:jwt-session:demo',
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    // Tabs share one refresh cookie; @jwt-session/client lets one tab at a time
    // spend it, so even 0 (every replay is reuse) is safe.
    refreshTokenReuseInterval: config.refreshTokenReuseInterval,
    maxSessionsPerSubject: 20,
    // A sign-in from a browser and network the user has not used before is news: the other tabs show it (chat.ts).
    deviceHistory: true,
    refreshTokenStore: backend.refreshTokenStore,
    invalidAccessTokenCache: backend.invalidAccessTokenCache,
    ...(backend.broadcaster === undefined ? {} : { broadcaster: backend.broadcaster }),
    ...(metrics === undefined ? {} : { telemetry: metrics.telemetry }),
  });
  await manager.ready();
  const users = await UserDirectory.create();
  const throttle = new SignInThrottle();
  const files = loadPublicFiles(PUBLIC_DIR);
  files.set('/client.js', { body: await bundleClient(), type: 'text/javascript; charset=utf-8' });

  // Built once the port is known (below): browsers send a host's cookies to
  // every port of it, so two local nodes name their cookies apart.
  let sessions: SessionRouter | undefined;
  let oidc: OidcRoutes | undefined;
  // DPoP (RFC 9449) on every surface, one option: sessions signed in with a proof are bound to the
  // browser's key, and their tokens pass /api/me, the chat socket and the session endpoints only with a
  // proof by it; a copied token is refused. Not required: a client without a key still gets an unbound session.
  const dpop = { replayCache: backend.dpopReplayCache };
  const guard = httpAuth(manager, { dpop, trustProxy: config.trustProxy });
  // Issue 22: changing the e-mail address asks for the password again when the last authentication is older than freshMaxAge.
  const sensitive = sensitiveRoutes({ users, throttle, guard, freshMaxAge: config.freshMaxAge, trustProxy: config.trustProxy, log });

  /** GET /api/me: who the access token belongs to (what an app's API would check). */
  function me(req: IncomingMessage, res: ServerResponse): void {
    guard(req, res, (error?: unknown) => {
      if (error !== undefined) return sendJson(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong.' });
      const auth = (req as { auth?: AuthContext }).auth!;
      // A provider's user (oidc:…) is no demo user: the name the ID token gave, carried in the session's claims.
      const name = typeof auth.claims.name === 'string' ? auth.claims.name : auth.userId;
      sendJson(res, 200, { user: users.get(auth.userId) ?? { id: auth.userId, name }, sessionId: auth.sessionId });
    });
  }

  function about(res: ServerResponse): void {
    sendJson(res, 200, {
      users: DEMO_USERS.map(({ id, name, password }) => ({ id, name, password })),
      storage: backend.kind,
      node: `${config.host}:${config.port}`,
      accessTokenTtl: config.accessTokenTtl,
      freshMaxAge: config.freshMaxAge,
      // The page shows "Sign in with your provider" when set.
      oidc: config.oidc === undefined ? null : { issuer: config.oidc.issuer },
    });
  }

  const notFound = (res: ServerResponse): void => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('Not found');
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
    if (sessions === undefined) return sendJson(res, 503, { error: 'ERR_STARTING', message: 'The demo is starting.' });
    if (method === 'POST' && path === '/auth/reauthenticate') return sensitive.reauthenticate(req, res, sessions);
    if (oidc !== undefined && (path === OIDC_BASE || path.startsWith(`${OIDC_BASE}/`))) {
      return oidc.handle(req, res, () => sendJson(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' }));
    }
    if (path.startsWith('/auth/')) return sessions(req, res, () => sendJson(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such route.' }));
    if (method === 'GET' && path === '/api/about') return about(res);
    if (method === 'GET' && path === '/metrics' && metrics !== undefined) return metrics.serve(req, res);
    if (method === 'GET' && path === '/api/me') return me(req, res);
    if (method === 'POST' && path === '/api/account/email') return sensitive.changeEmail(req, res);
    if (method === 'POST' && path === '/api/sign-in') return signIn(req, res, { users, throttle, sessions, trustProxy: config.trustProxy, log });
    if (path.startsWith('/api/')) return sendJson(res, 404, { error: 'ERR_NOT_FOUND', message: 'No such API route.' });
    if ((method === 'GET' || method === 'HEAD') && serveStatic(files, path, res, method === 'HEAD')) return;
    notFound(res);
  }

  // The handler must be installed before Socket.IO attaches: Socket.IO then
  // answers /socket.io/ itself and passes every other request on to it.
  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The pathname only: a query string may carry something private (a token, an e-mail address).
      const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
      log(`${req.method} ${path} failed: ${error instanceof Error ? error.name : typeof error}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong on the server.' });
      else res.destroy();
    });
  });
  const io = new Server(http, { serveClient: true, ...(backend.socketAdapter === undefined ? {} : { adapter: backend.socketAdapter }) });
  const chat = attachChat({ io, manager, log, dpop, trustProxy: config.trustProxy, ...(metrics === undefined ? {} : { telemetry: metrics.telemetry }) }, backend.history);

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // e.g. EADDRINUSE: release what was opened so the process can exit.
    chat.close();
    io.close();
    await manager.close();
    await backend.close();
    await metrics?.close();
    throw error;
  }
  const port = (http.address() as AddressInfo).port;
  config.port = port;
  sessions = sessionRouter(manager, {
    basePath: '/auth',
    cookie: { name: `jwt-session-demo-${port}` },
    allowedOrigins: [...config.allowedOrigins],
    trustProxy: config.trustProxy,
    dpop,
    // The browser and network of each sign-in, for deviceHistory (the new-device notice, chat.ts).
    device: true,
    onError: (error) => log(`session endpoint failed: ${error instanceof Error ? error.name : typeof error}`),
  });
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  if (config.oidc !== undefined) {
    oidc = oidcRoutes({
      settings: config.oidc,
      manager,
      sessions,
      replayCache: backend.dpopReplayCache,
      secret: config.secret,
      origin: `http://${host}:${port}`,
      cookieName: `jwt-session-demo-${port}`,
      trustProxy: config.trustProxy,
      log,
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    storage: backend.kind,
    manager,
    io,
    users,
    close() {
      closing ??= (async () => {
        chat.close();
        io.disconnectSockets(true);
        await new Promise<void>((resolve) => {
          io.close(() => resolve());
          http.closeAllConnections();
        });
        await manager.close();
        await backend.close();
        await metrics?.close();
      })();
      return closing;
    },
  };
}

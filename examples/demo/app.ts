// startDemo(): builds one demo node (session manager, HTTP routes, Socket.IO
// chat) and starts listening. server.ts is the command-line entry; the
// browser test calls this directly to start one or two nodes in-process.
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { refresh, signIn, signOut } from './auth-routes.js';
import { createBackend } from './backend.js';
import { attachChat } from './chat.js';
import { resolveConfig, type DemoOptions } from './config.js';
import type { DemoContext, Route } from './context.js';
import { describeForLog, toHttpError } from './errors.js';
import { httpAuth, type AuthContext } from '@jwt-session/socketio-adapter';
import { HttpError, sendError, sendJson } from './http.js';
import { listSessions, revokeSession, signOutEverywhere } from './sessions-api.js';
import { SECURITY_HEADERS, loadPublicFiles, serveStatic } from './static.js';
import { DEMO_USERS, UserDirectory } from './users.js';

export type { DemoOptions } from './config.js';

export interface DemoNode {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  /** 'memory' or 'redis' */
  storage: 'memory' | 'redis';
  manager: JwtUserSessionManager;
  io: Server;
  close(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const about: Route = async (_req, res, ctx) => {
  sendJson(res, 200, {
    users: DEMO_USERS.map(({ id, name, password }) => ({ id, name, password })),
    storage: ctx.config.redisUrl === undefined ? 'memory' : 'redis',
    node: `${ctx.config.host}:${ctx.config.port}`,
    accessTokenTtl: ctx.config.accessTokenTtl,
  });
};

const ROUTES: [method: string, pattern: RegExp, route: Route][] = [
  ['GET', /^\/api\/about$/, about],
  ['POST', /^\/api\/auth\/sign-in$/, signIn],
  ['POST', /^\/api\/auth\/refresh$/, refresh],
  ['DELETE', /^\/api\/auth\/refresh$/, signOut],
  ['GET', /^\/api\/sessions$/, listSessions],
  ['POST', /^\/api\/sessions\/sign-out-everywhere$/, signOutEverywhere],
  ['DELETE', /^\/api\/sessions\/(?<sessionId>[A-Za-z0-9._~-]{1,200})$/, revokeSession],
];

export async function startDemo(options: DemoOptions = {}): Promise<DemoNode> {
  const config = resolveConfig(options);
  const log = (line: string): void => {
    if (config.log) console.log(`[demo ${config.port}] ${line}`);
  };
  const backend = await createBackend(config.redisUrl, log);
  const manager = new JwtUserSessionManager({
    keys: { kid: 'demo-hs256-1', algorithm: 'HS256', secret: config.secret },
    issuer: 'urn:jwt-session:demo',
    audience: 'urn:jwt-session:demo',
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    // Two tabs share one refresh cookie and may refresh at the same moment.
    refreshTokenReuseInterval: 10,
    maxSessionsPerSubject: 20,
    refreshTokenStore: backend.refreshTokenStore,
    invalidAccessTokenCache: backend.invalidAccessTokenCache,
    ...(backend.broadcaster === undefined ? {} : { broadcaster: backend.broadcaster }),
  });
  await manager.ready();
  const users = await UserDirectory.create();
  const files = loadPublicFiles(PUBLIC_DIR);
  // The handler must be installed before Socket.IO attaches: Socket.IO then
  // answers /socket.io/ itself and passes every other request on to it.
  const http = createServer((req, res) => void handle(req, res));
  const io = new Server(http, { serveClient: true, ...(backend.socketAdapter === undefined ? {} : { adapter: backend.socketAdapter }) });

  const guardHttp = httpAuth(manager);
  const ctx: DemoContext = {
    config,
    manager,
    users,
    io,
    log,
    authenticate: (req, res) =>
      new Promise<AuthContext | undefined>((resolve, reject) => {
        res.once('finish', () => resolve(undefined));
        guardHttp(req, res, (error?: unknown) => (error === undefined ? resolve((req as { auth?: AuthContext }).auth) : reject(error)));
      }),
  };
  const chat = attachChat(ctx, backend.history);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
    try {
      if (!path.startsWith('/api/')) {
        if ((method === 'GET' || method === 'HEAD') && serveStatic(files, path, res, method === 'HEAD')) return;
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
        res.end('Not found');
        return;
      }
      const matches = ROUTES.map(([m, pattern, route]) => [m, pattern.exec(path), route] as const).filter(([, match]) => match !== null);
      const hit = matches.find(([m]) => m === method);
      if (hit === undefined) {
        if (matches.length > 0) throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', 'Method not allowed.', { allow: matches.map(([m]) => m).join(', ') });
        throw new HttpError(404, 'ERR_NOT_FOUND', 'No such API route.');
      }
      await hit[2](req, res, ctx, { ...hit[1]?.groups });
    } catch (error) {
      const failure = toHttpError(error);
      if (failure.status >= 500) ctx.log(`${method} ${path} failed: ${describeForLog(error)}`);
      if (!res.headersSent) sendError(res, failure);
      else res.destroy();
    }
  }

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
    throw error;
  }
  const port = (http.address() as AddressInfo).port;
  config.port = port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    storage: backend.kind,
    manager,
    io,
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
      })();
      return closing;
    },
  };
}

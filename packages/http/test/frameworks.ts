import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import express from 'express';
import { Hono } from 'hono';
import Fastify, { type FastifyInstance } from 'fastify';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sessionRoutes } from '../src/fastify.js';
import { honoSessionRoutes } from '../src/hono.js';
import { sessionRouter } from '../src/index.js';
import { TLS, type Framework } from './support.js';
import type { ReauthenticationCheck } from '../src/index.js';

/**
 * The app's credential check for `POST {base}/reauthenticate`: the password
 * (header `x-password`, "wonderland"), and a one-time code (`x-otp`, "123456")
 * for a second factor; a body parser is the app's business, not the package's.
 */
export function credentialCheck(headers: Record<string, string | string[] | undefined>): ReauthenticationCheck {
  return ({ subject }) => {
    if (headers['x-password'] === 'throw') throw new Error('the user store is down');
    if (subject !== 'alice' || headers['x-password'] !== 'wonderland') return false;
    return headers['x-otp'] === '123456' ? { amr: ['pwd', 'otp'], acr: 'loa2' } : { amr: ['pwd'] };
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export const expressFramework: Framework = {
  name: 'Express',
  async start(cleanup, manager, options) {
    const app = express();
    const sessions = sessionRouter(manager, options.endpoints);
    app.use(sessions);
    app.post('/login', async (req, res) => {
      await sessions.issueSession(req, res, String(req.headers['x-user']), options.issue);
    });
    app.get('/app/ping', (_req, res) => void res.json({ app: true }));
    const base = options.endpoints.basePath ?? '/auth';
    app.post(`${base}/reauthenticate`, async (req, res) => {
      await sessions.reauthenticateSession(req, res, credentialCheck(req.headers));
    });
    app.options(`${base}/refresh`, (_req, res) => void res.status(204).set('x-app-preflight', '1').end());
    const server = options.tls ? createHttpsServer(TLS, app) : createHttpServer(app);
    const port = await listen(server);
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    cleanup.add(() => server.closeAllConnections());
    return `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  },
  async construct(manager, options) {
    sessionRouter(manager as never, options as never);
  },
};

export const fastifyFramework: Framework = {
  name: 'Fastify',
  async start(cleanup, manager, options) {
    // An https instance serves the same requests; typed as the http one so the routes below read the same.
    const app = (options.tls ? Fastify({ https: TLS }) : Fastify()) as unknown as FastifyInstance;
    cleanup.add(() => app.close());
    await app.register(sessionRoutes, { manager, ...options.endpoints });
    app.post('/login', async (request, reply) => {
      await app.issueSession(request, reply, String(request.headers['x-user']), options.issue);
      return reply;
    });
    app.get('/app/ping', async () => ({ app: true }));
    // The app's own JSON parsing is untouched by the plugin's body handling.
    app.post('/app/echo', async (request) => ({ echo: request.body }));
    const base = options.endpoints.basePath ?? '/auth';
    app.post(`${base}/reauthenticate`, async (request, reply) => {
      await app.reauthenticateSession(request, reply, credentialCheck(request.headers));
      return reply;
    });
    app.options(`${base}/refresh`, async (_request, reply) => reply.code(204).header('x-app-preflight', '1').send());
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `${options.tls ? 'https' : 'http'}://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  },
  async construct(manager, options) {
    const app = Fastify();
    try {
      await app.register(sessionRoutes, { ...(options as object), manager } as never);
      await app.ready();
    } finally {
      await app.close().catch(() => undefined);
    }
  },
};

export const honoFramework: Framework = {
  name: 'Hono',
  async start(cleanup, manager, options) {
    const app = new Hono();
    const sessions = honoSessionRoutes(manager, { ...options.endpoints, getConnInfo });
    app.use(sessions);
    app.post('/login', (c) => sessions.issueSession(c, String(c.req.header('x-user')), options.issue));
    app.get('/app/ping', (c) => c.json({ app: true }));
    const base = options.endpoints.basePath ?? '/auth';
    app.post(`${base}/reauthenticate`, (c) => sessions.reauthenticateSession(c, credentialCheck(c.req.header())));
    app.options(`${base}/refresh`, (c) => c.body(null, 204, { 'x-app-preflight': '1' }));
    // @hono/node-server: the Web Request built from Node's, over a real socket.
    const server = (options.tls ? createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: TLS }) : createAdaptorServer({ fetch: app.fetch })) as Server;
    const port = await listen(server);
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    cleanup.add(() => server.closeAllConnections());
    return `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  },
  async construct(manager, options) {
    honoSessionRoutes(manager as never, options as never);
  },
};

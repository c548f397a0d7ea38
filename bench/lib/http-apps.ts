/**
 * The HTTP servers of the http-guards group (cases H*): Express and Fastify,
 * each unguarded, with this library's guard, with the floor (a hand-written
 * middleware that only calls `manager.read()`) and with the peers at their
 * best (express-jwt with a KeyObject secret; @fastify/jwt with and without
 * its verified-token cache). Every app answers `GET /r` with
 * `{"sub": <the subject or null>}`. Each guarded app has a manager of its
 * own, so no app's verified-token cache holds what another one verified.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressjwt } from 'express-jwt';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import type { JwtUserSessionManager } from '@jwt-session/session-core';
import { httpAuth, requireFresh } from '@jwt-session/socketio-adapter';
import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
import { AUDIENCE, CLOCK_TOLERANCE, HS_SECRET, ISSUER, keySet, memoryManager } from './fixtures.js';

export const HTTP_APPS = [
  'express-plain',
  'express-guard',
  'express-floor',
  'express-jwt',
  'fastify-plain',
  'fastify-guard',
  'fastify-floor',
  'fastify-jwt',
  'fastify-jwt-cache',
] as const;
/** Case H9 only (cases/fresh-guard.ts): httpAuth followed by requireFresh, which the tokens of H1–H8 (no auth_time) would not pass. */
export const FRESH_APPS = ['express-guard', 'express-fresh'] as const;
export type HttpApp = (typeof HTTP_APPS)[number] | (typeof FRESH_APPS)[number];

/** Whether the app refuses requests without a good token (every one but the unguarded ones). */
export const guarded = (app: HttpApp): boolean => !app.endsWith('-plain');

type Req = IncomingMessage & { auth?: { sub: string } };

function unauthorized(res: ServerResponse): void {
  res.statusCode = 401;
  res.end();
}

/**
 * The floor: the least a guard built on `read()` does — the header's token
 * handed to `read()`, the claims put on the request. No header rules
 * (repeated headers, scheme case, b64token), no context, no challenge.
 */
function floorMiddleware(manager: JwtUserSessionManager) {
  return (req: Req, res: ServerResponse, next: () => void): void => {
    const header = req.headers.authorization;
    if (header === undefined || !header.startsWith('Bearer ')) return unauthorized(res);
    manager.read(header.slice(7)).then(
      (claims) => {
        req.auth = claims;
        next();
      },
      () => unauthorized(res),
    );
  };
}

async function managerFor(): Promise<JwtUserSessionManager> {
  const manager = memoryManager(keySet('HS256'));
  await manager.ready();
  return manager;
}

async function expressApp(kind: HttpApp): Promise<Server> {
  const app = express();
  if (kind === 'express-guard') app.use(httpAuth(await managerFor()));
  if (kind === 'express-fresh') app.use(httpAuth(await managerFor()), requireFresh({ maxAge: 3600 }));
  if (kind === 'express-floor') app.use(floorMiddleware(await managerFor()));
  if (kind === 'express-jwt') {
    // Its best setting: a KeyObject, which jsonwebtoken would otherwise build from a string secret on every call.
    app.use(expressjwt({ secret: keySet('HS256').verifyKey, algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, clockTolerance: CLOCK_TOLERANCE }));
    app.use((error: { status?: number }, _req: Req, res: ServerResponse, next: (e?: unknown) => void) => {
      if (error.status === 401) unauthorized(res);
      else next(error);
    });
  }
  app.get('/r', (req: Req, res) => {
    res.json({ sub: req.auth?.sub ?? null });
  });
  return createServer(app);
}

async function fastifyApp(kind: HttpApp): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  if (kind === 'fastify-guard') await app.register(fastifySessionAuth, { manager: await managerFor() });
  if (kind === 'fastify-floor') {
    const manager = await managerFor();
    app.decorateRequest('auth', undefined);
    // Callback style: the cheapest hook Fastify has.
    app.addHook('onRequest', (request, reply, done) => {
      const header = request.headers.authorization;
      if (header === undefined || !header.startsWith('Bearer ')) return void reply.code(401).send();
      manager.read(header.slice(7)).then(
        (claims) => {
          (request as unknown as Req).auth = claims;
          done();
        },
        () => void reply.code(401).send(),
      );
    });
  }
  if (kind === 'fastify-jwt' || kind === 'fastify-jwt-cache') {
    await app.register(fastifyJwt, {
      secret: HS_SECRET,
      verify: { algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE, clockTolerance: CLOCK_TOLERANCE * 1000, cache: kind === 'fastify-jwt-cache' },
    });
    app.addHook('onRequest', async (request) => {
      await request.jwtVerify();
    });
  }
  app.get('/r', async (request) => {
    const identity = (request as unknown as { auth?: { sub: string }; user?: { sub: string } }).auth ?? (request as unknown as { user?: { sub: string } }).user;
    return { sub: identity?.sub ?? null };
  });
  await app.ready();
  return app;
}

/** Starts the named apps on free loopback ports; `close()` stops them all. */
export async function startHttpApps(kinds: readonly HttpApp[] = HTTP_APPS): Promise<{ ports: Record<string, number>; close: () => Promise<void> }> {
  const ports: Record<string, number> = {};
  const closers: (() => Promise<unknown>)[] = [];
  for (const kind of kinds) {
    if (kind.startsWith('express')) {
      const server = await expressApp(kind);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      ports[kind] = (server.address() as AddressInfo).port;
      closers.push(() => new Promise((resolve) => server.close(resolve)));
    } else {
      const app = await fastifyApp(kind);
      await app.listen({ port: 0, host: '127.0.0.1' });
      ports[kind] = (app.server.address() as AddressInfo).port;
      closers.push(() => app.close());
    }
  }
  return { ports, close: async () => void (await Promise.all(closers.map((c) => c()))) };
}

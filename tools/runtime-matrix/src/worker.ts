// A Cloudflare Worker (run on workerd): JwtSessionVerifier and the Hono guard,
// and a verifier that follows the origin's revocation log with
// PollingInvalidationBroadcaster (timers: false: a Worker's timers die with the
// request that set them, so each request syncs when a poll is due).
// Everything is built on the first request: a Worker may not start timers or
// I/O at global scope.
import { JwtSessionVerifier, PollingInvalidationBroadcaster } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { honoSessionAuth, type SessionAuthEnv } from '@jwt-session/socketio-adapter/hono';
import { Hono } from 'hono';
import { AUDIENCE, ISSUER } from './report.js';

type Bindings = { SECRET: string; REVOCATIONS_URL: string; REVOCATIONS_SECRET: string; POLL_INTERVAL: string };
type Env = SessionAuthEnv & { Bindings: Bindings };

let app: Hono<Env> | undefined;

function build(env: Bindings): Hono<Env> {
  const secret = env.SECRET;
  const verifier = new JwtSessionVerifier({ keys: { kid: 'k1', algorithm: 'HS256', secret }, issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: new MemoryInvalidAccessTokenCache() });
  const log = new PollingInvalidationBroadcaster({ url: env.REVOCATIONS_URL, secret: env.REVOCATIONS_SECRET, interval: Number(env.POLL_INTERVAL), timers: false });
  const edge = new JwtSessionVerifier({ keys: { kid: 'k1', algorithm: 'HS256', secret }, issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(), broadcaster: log });
  const hono = new Hono<Env>();
  hono.get('/verify', async (c) => {
    try {
      return c.json({ sub: (await verifier.read(c.req.query('token') ?? '')).sub });
    } catch (error) {
      return c.json({ code: (error as { code?: string }).code }, 401);
    }
  });
  // Revocations from the origin: the request waits for a poll only when one is due (every POLL_INTERVAL ms).
  hono.get('/edge/verify', async (c) => {
    try {
      await edge.ready();
      await log.sync();
    } catch (error) {
      return c.json({ code: (error as { code?: string }).code }, 503);
    }
    try {
      return c.json({ sub: (await edge.read(c.req.query('token') ?? '')).sub });
    } catch (error) {
      return c.json({ code: (error as { code?: string }).code }, 401);
    }
  });
  hono.use('/api/*', honoSessionAuth(verifier, { realm: 'edge' }));
  hono.get('/api/me', (c) => c.json({ userId: c.get('auth')?.userId }));
  return hono;
}

export default {
  fetch(request: Request, env: Bindings, ctx: unknown): Response | Promise<Response> {
    app ??= build(env);
    return app.fetch(request, env, ctx as never);
  },
};

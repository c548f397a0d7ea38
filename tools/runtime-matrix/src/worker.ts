// A Cloudflare Worker (run on workerd): JwtSessionVerifier and the Hono guard.
// The verifier is built on the first request: a Worker may not start timers
// at global scope.
import { JwtSessionVerifier } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { honoSessionAuth, type SessionAuthEnv } from '@jwt-session/socketio-adapter/hono';
import { Hono } from 'hono';
import { AUDIENCE, ISSUER } from './report.js';

type Env = SessionAuthEnv & { Bindings: { SECRET: string } };

let app: Hono<Env> | undefined;

function build(secret: string): Hono<Env> {
  const verifier = new JwtSessionVerifier({ keys: { kid: 'k1', algorithm: 'HS256', secret }, issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: new MemoryInvalidAccessTokenCache() });
  const hono = new Hono<Env>();
  hono.get('/verify', async (c) => {
    try {
      return c.json({ sub: (await verifier.read(c.req.query('token') ?? '')).sub });
    } catch (error) {
      return c.json({ code: (error as { code?: string }).code }, 401);
    }
  });
  hono.use('/api/*', honoSessionAuth(verifier, { realm: 'edge' }));
  hono.get('/api/me', (c) => c.json({ userId: c.get('auth')?.userId }));
  return hono;
}

export default {
  fetch(request: Request, env: { SECRET: string }, ctx: unknown): Response | Promise<Response> {
    app ??= build(env.SECRET);
    return app.fetch(request, env, ctx as never);
  },
};

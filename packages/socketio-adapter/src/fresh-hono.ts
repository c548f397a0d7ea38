import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AuthError } from './errors.js';
import { freshCheck, type RequireFreshOptions } from './fresh.js';
import type { SessionAuthEnv } from './hono-env.js';

/**
 * Hono: the step-up check of `requireFresh` (fresh.ts), after
 * `honoSessionAuth`: reads `c.get('auth')`; a session that is not fresh ends in
 * an `HTTPException` whose response is the 401 with RFC 9470's challenge (as
 * `honoSessionAuth` answers its refusals).
 *
 * @example
 * app.post('/api/transfer', honoSessionAuth(manager), honoRequireFresh({ maxAge: 300 }), (c) => c.json({ ok: true }));
 */
export function honoRequireFresh(options: RequireFreshOptions): MiddlewareHandler<SessionAuthEnv> {
  const check = freshCheck('honoRequireFresh', options);
  return async (c, next) => {
    const refusal = check(c.get('auth'));
    if (refusal !== undefined) {
      const res = new Response(JSON.stringify(refusal.body), { status: refusal.status, headers: refusal.headers });
      throw new HTTPException(401, { res, message: refusal.body.message, cause: new AuthError(refusal.body.error) });
    }
    await next();
  };
}

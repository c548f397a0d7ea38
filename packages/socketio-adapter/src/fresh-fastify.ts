import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { toAuthError } from './errors.js';
import { freshCheck, type RequireFreshOptions } from './fresh.js';

/**
 * Fastify: the step-up check of `requireFresh` (fresh.ts) as a route hook,
 * after the plugin's authentication (`onRequest`): reads `request.auth`,
 * answers 401 with RFC 9470's challenge when the session is not fresh.
 *
 * @example
 * app.post('/transfer', { preHandler: fastifyRequireFresh({ maxAge: 300 }) }, transfer);
 */
export function fastifyRequireFresh(options: RequireFreshOptions): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  const check = freshCheck('fastifyRequireFresh', options);
  return (request, reply, done) => {
    const refusal = check(request.auth);
    if (refusal === undefined) return done();
    try {
      // A hook that replies does not call done (Fastify's rule).
      void reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
    } catch (error) {
      done(toAuthError(error));
    }
  };
}

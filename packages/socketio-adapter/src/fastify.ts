import type { SessionVerifier } from '@jwt-session/session-core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from './authenticate.js';
import { authenticateHttp, type HttpAuthOptions } from './http-auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by fastifySessionAuth once the request's access token is verified; null otherwise. */
    auth: AuthContext | null;
  }
  interface FastifyInstance {
    /** The authentication hook, for routes when the plugin is registered with `global: false`. */
    sessionAuth: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  }
}

export interface FastifySessionAuthOptions extends HttpAuthOptions {
  manager: SessionVerifier;
  /** Authenticate every route (an onRequest hook); false only decorates `fastify.sessionAuth` for per-route use. @default true */
  global?: boolean;
}

const plugin: FastifyPluginAsync<FastifySessionAuthOptions> = async (fastify, options) => {
  const { manager, global: everywhere = true, ...httpOptions } = options;
  const sessionAuth = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const result = await authenticateHttp(manager, request.raw, httpOptions);
    if (result === undefined) return undefined;
    if ('auth' in result) {
      request.auth = result.auth;
      return undefined;
    }
    const { status, headers, body } = result.failure;
    return reply.code(status).headers(headers).send(body);
  };
  fastify.decorateRequest('auth', null);
  fastify.decorate('sessionAuth', sessionAuth);
  if (everywhere) fastify.addHook('onRequest', sessionAuth);
};

// What fastify-plugin would set, without making it a runtime dependency: the
// hook and decorators apply to the registering scope, not a private child.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'fastifySessionAuth',
  [Symbol.for('plugin-meta')]: { name: 'fastifySessionAuth', fastify: '5.x' },
});

/**
 * Fastify plugin on the same core as {@link httpAuth}:
 * `app.register(fastifySessionAuth, { manager })` → `request.auth`.
 */
export const fastifySessionAuth = plugin;

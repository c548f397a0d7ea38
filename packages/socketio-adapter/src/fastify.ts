import type { SessionVerifier } from '@jwt-session/session-core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext, ProvisionedUser } from './authenticate.js';
import { AuthError } from './errors.js';
import { authenticateHttp, type GetToken, type HttpAuthOptions } from './http-auth.js';
import { checkHttpOptions, checkVerifier } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by fastifySessionAuth once the request's access token is verified; undefined otherwise. */
    auth: AuthContext | undefined;
  }
  interface FastifyInstance {
    /** The authentication hook, for routes when the plugin is registered with `global: false`. */
    sessionAuth: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  }
}

export interface FastifySessionAuthOptions<User extends ProvisionedUser = ProvisionedUser> extends Omit<HttpAuthOptions<User>, 'getToken'> {
  /** Any `SessionVerifier`: a `JwtUserSessionManager`, for one. */
  manager: SessionVerifier;
  /** Authenticate every route (an onRequest hook); false only decorates `fastify.sessionAuth` for per-route use. @default true */
  global?: boolean;
  /** Finds the token yourself (replaces the Authorization header and cookie sources). @default none */
  getToken?: GetToken<FastifyRequest>;
}

const plugin: FastifyPluginAsync<FastifySessionAuthOptions> = async (fastify, options) => {
  // Thrown here, the error fails app.register() / app.ready(): the app does not start half-configured.
  // Fastify hands a plugin its own registration options (prefix, logLevel, …) besides ours.
  checkHttpOptions('fastifySessionAuth', options, ['manager', 'global', 'prefix', 'logLevel', 'logSerializers']);
  const { manager, global: everywhere = true, getToken, ...httpOptions } = options;
  checkVerifier('fastifySessionAuth', 'manager', manager);
  if (typeof everywhere !== 'boolean') throw AuthError.config('fastifySessionAuth', 'global', 'a boolean');
  const fromRequest = getToken === undefined ? undefined : (request: FastifyRequest) => getToken(request);
  const sessionAuth = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const result = await authenticateHttp(manager, request.raw, httpOptions, fromRequest === undefined ? undefined : () => fromRequest(request));
    if (result === undefined) return undefined;
    if ('auth' in result) {
      request.auth = result.auth;
      return undefined;
    }
    const { status, headers, body } = result.failure;
    return reply.code(status).headers(headers).send(body);
  };
  fastify.decorateRequest('auth', undefined);
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
 * Fastify plugin on the same core as `httpAuth`, from its own entry so that
 * the main one never loads Fastify's types:
 *
 * @example
 * import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
 * await app.register(fastifySessionAuth, { manager }); // request.auth
 */
export const fastifySessionAuth = plugin;

import type { SessionVerifier } from '@jwt-session/session-core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AuthContext, ProvisionedUser } from './authenticate.js';
import { AuthError, toAuthError } from './errors.js';
import { HttpRefusal, httpCheck, type GetToken, type HttpAuthOptions, type HttpOutcome } from './http-auth.js';
import { checkHttpOptions, checkVerifier } from './options.js';
import { networkCheck } from './network.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by fastifySessionAuth once the request's access token is verified; undefined otherwise. */
    auth: AuthContext | undefined;
  }
  interface FastifyInstance {
    /** The authentication hook, for routes when the plugin is registered with `global: false`. */
    sessionAuth: {
      /** As a hook (`{ onRequest: fastify.sessionAuth }`): Fastify's `done` is called at once when nothing needs waiting for. */
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
      /** Called yourself: resolves once the request is authenticated (undefined) or refused (the reply, sent). */
      (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
    };
  }
}

export interface FastifySessionAuthOptions<User extends ProvisionedUser = ProvisionedUser> extends Omit<HttpAuthOptions<User>, 'getToken'> {
  /** The request's network, for the manager's `drift: 'refresh'` (as httpAuth's `network`). @default none */
  network?: (request: FastifyRequest) => string;
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
  const { manager, global: everywhere = true, getToken, network, ...httpOptions } = options;
  checkVerifier('fastifySessionAuth', 'manager', manager);
  const networkOf = networkCheck<FastifyRequest>('fastifySessionAuth', manager, network);
  if (typeof everywhere !== 'boolean') throw AuthError.config('fastifySessionAuth', 'global', 'a boolean');
  const check = httpCheck<ProvisionedUser, IncomingMessage, FastifyRequest>(manager, httpOptions, getToken, networkOf);
  // A plain function, not an async one: called by Fastify as a hook (with `done`), it answers without a promise
  // when the check needs none; called with two arguments, it returns a promise as it always did.
  function sessionAuth(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
  function sessionAuth(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  function sessionAuth(request: FastifyRequest, reply: FastifyReply, done?: HookHandlerDoneFunction): Promise<FastifyReply | undefined> | void {
    const outcome = check(request.raw, request);
    if (typeof done !== 'function') return Promise.resolve(outcome).then((settled) => settle(request, reply, settled));
    if (outcome instanceof Promise) void outcome.then((settled) => finish(request, reply, settled, done));
    else finish(request, reply, outcome, done);
  }
  fastify.decorateRequest('auth', undefined);
  fastify.decorate('sessionAuth', sessionAuth);
  if (everywhere) fastify.addHook('onRequest', sessionAuth);
};

/** Sets `request.auth`, or sends the refusal (and returns the reply). */
function settle(request: FastifyRequest, reply: FastifyReply, outcome: HttpOutcome<ProvisionedUser>): FastifyReply | undefined {
  if (outcome instanceof HttpRefusal) {
    const { status, headers, body } = outcome.failure;
    return reply.code(status).headers(headers).send(body);
  }
  if (outcome !== undefined) request.auth = outcome;
  return undefined;
}

/** The hook's end: `done()` to go on; nothing once a refusal is sent (Fastify's rule for a hook that replies). */
function finish(request: FastifyRequest, reply: FastifyReply, outcome: HttpOutcome<ProvisionedUser>, done: HookHandlerDoneFunction): void {
  let sent: FastifyReply | undefined;
  try {
    sent = settle(request, reply, outcome);
  } catch (error) {
    done(toAuthError(error));
    return;
  }
  if (sent === undefined) done();
}


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
export { fastifyRequireFresh } from './fresh-fastify.js';

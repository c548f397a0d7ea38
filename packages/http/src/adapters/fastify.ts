import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SessionEndpoints, type IssueSessionOptions, type ReauthenticateSessionOptions, type ReauthenticationCheck, type SessionBody } from '../core/endpoints.js';
import { SessionHttpError } from '../core/errors.js';
import { configChecked, type SessionEndpointsOptions, type SessionManagerLike } from '../core/options.js';
import { fromNodeRequest, type EndpointResponse } from '../core/request.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * For the application's sign-in route, once it has verified the user:
     * creates the session, sets the refresh cookie and sends 200 with the same
     * body as refresh (or the error answer). Resolves to that body, or
     * `undefined` when it sent an error. Return `reply` from the handler after it.
     */
    issueSession(request: FastifyRequest, reply: FastifyReply, subject: string, options?: IssueSessionOptions): Promise<SessionBody | undefined>;
    /**
     * For the application's `POST {base}/reauthenticate` route: `check`
     * verifies the credential again; the session is stamped fresh, rotated and
     * answered like refresh. Resolves to the body, or `undefined` when it sent
     * an error. Return `reply` from the handler after it.
     */
    reauthenticateSession(request: FastifyRequest, reply: FastifyReply, check: ReauthenticationCheck, options?: ReauthenticateSessionOptions): Promise<SessionBody | undefined>;
  }
}

export interface FastifySessionRoutesOptions extends SessionEndpointsOptions {
  manager: SessionManagerLike;
}

function send(reply: FastifyReply, response: EndpointResponse): FastifyReply {
  reply.code(response.status).headers(response.headers);
  if (response.setCookie !== undefined) {
    const existing = reply.getHeader('set-cookie');
    reply.header('set-cookie', existing === undefined ? response.setCookie : [...(Array.isArray(existing) ? existing : [String(existing)]), response.setCookie]);
  }
  return reply.send(response.body);
}

const plugin: FastifyPluginAsync<FastifySessionRoutesOptions> = async (fastify, options) => {
  if (options === null || typeof options !== 'object') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options must be an object with a manager');
  // Reading the options (a Proxy, a throwing getter) fails as ERR_CONFIG_INVALID, never raw.
  const { manager, endpointOptions } = configChecked(() => {
    const { manager, ...rest } = options;
    // Fastify hands a plugin its own bookkeeping options besides ours.
    const { prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...endpointOptions } = rest as typeof rest & Record<string, unknown>;
    return { manager, endpointOptions };
  });
  // Inside a prefixed scope the routes get the prefix: so must the cookie's Path.
  const endpoints = new SessionEndpoints(manager, endpointOptions, fastify.prefix);
  const routeBase = endpoints.options.basePath.slice(fastify.prefix.replace(/\/+$/, '').length);

  fastify.decorate('issueSession', async (request: FastifyRequest, reply: FastifyReply, subject: string, issueOptions?: IssueSessionOptions) => {
    const { response, body } = await endpoints.issue(fromNodeRequest(request.raw), subject, issueOptions);
    send(reply, response);
    return body;
  });

  fastify.decorate('reauthenticateSession', async (request: FastifyRequest, reply: FastifyReply, check: ReauthenticationCheck, reauthOptions?: ReauthenticateSessionOptions) => {
    const { response, body } = await endpoints.reauthenticate(fromNodeRequest(request.raw), check, reauthOptions);
    send(reply, response);
    return body;
  });

  // The routes live in a child scope so that their body handling does not leak into the app's.
  await fastify.register(async (scope) => {
    // No endpoint reads a body: accept any (an empty JSON body included) and ignore it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_request, _body, done) => done(null, undefined));
    for (const route of endpoints.routes) {
      scope.route({
        method: route.method,
        url: routeBase + route.path,
        handler: async (request, reply) => {
          const sessionId = (request.params as { sessionId?: string }).sessionId;
          return send(reply, await endpoints.handle(route.name, fromNodeRequest(request.raw), sessionId));
        },
      });
    }
  });
};

// What fastify-plugin would set, without a runtime dependency on it: the
// decorator belongs to the registering scope, not to a private child.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'jwtSessionRoutes',
  [Symbol.for('plugin-meta')]: { name: 'jwtSessionRoutes', fastify: '5.x' },
});

/**
 * The session endpoints as a Fastify plugin, on the same core as
 * `sessionRouter`: `app.register(sessionRoutes, { manager, basePath: '/auth' })`.
 * Registers the routes under `basePath`, within the registering scope's prefix
 * (the `prefix` option of this registration itself does not apply), and
 * decorates `issueSession` for the sign-in route. Registration fails
 * with ERR_CONFIG_INVALID for a missing manager or a bad option.
 */
export const sessionRoutes = plugin;

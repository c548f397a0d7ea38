import type { FastifyPluginAsync } from 'fastify';
import { BackchannelLogoutEndpoint, type BackchannelLogoutOptions, type UpstreamRevoker } from '../core/backchannel-logout.js';
import { SessionHttpError } from '../core/errors.js';
import type { EndpointResponse } from '../core/request.js';
import { SecurityEventsEndpoint, type SecurityEventsOptions } from '../core/security-events.js';

export interface FastifyBackchannelLogoutOptions extends BackchannelLogoutOptions {
  manager: UpstreamRevoker;
}

const plugin: FastifyPluginAsync<FastifyBackchannelLogoutOptions> = async (fastify, options) => {
  if (options === null || typeof options !== 'object') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options must be an object with a manager and a verifier');
  const { manager, prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...rest } = options as FastifyBackchannelLogoutOptions & Record<string, unknown>;
  const endpoint = new BackchannelLogoutEndpoint(manager, rest as BackchannelLogoutOptions);
  const route = endpoint.path.slice(fastify.prefix.replace(/\/+$/, '').length) || '/';
  const send = (reply: import('fastify').FastifyReply, response: EndpointResponse) => reply.code(response.status).headers(response.headers).send(response.body);

  // A child scope: the form parser and the error handler stay the endpoint's.
  await fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // The form as text, capped; any other type is read as nothing and refused by the endpoint (400).
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: endpoint.maxBodyBytes }, (_request, body, done) => done(null, { text: body as string }));
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: endpoint.maxBodyBytes }, (_request, _body, done) => done(null, undefined));
    // Fastify's own 413 (body over bodyLimit) answered as the endpoint answers it: no-store, nothing echoed.
    scope.setErrorHandler(async (error, _request, reply) => {
      const status = (error as { statusCode?: number }).statusCode === 413 ? 413 : 400;
      return send(reply, await endpoint.handle(undefined, status === 413 ? { tooLarge: true } : undefined));
    });
    scope.post(route, async (request, reply) => send(reply, await endpoint.handle(request.headers['content-type'], request.body as { text: string } | undefined)));
  });
};

Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'jwtSessionBackchannelLogout',
  [Symbol.for('plugin-meta')]: { name: 'jwtSessionBackchannelLogout', fastify: '5.x' },
});

/**
 * The back-channel logout endpoint as a Fastify plugin, on the same core as
 * the Express middleware: `app.register(backchannelLogoutRoute, { manager, path, verifier })`.
 * `path` is the full public path (within the registering scope's prefix).
 */
export const backchannelLogoutRoute = plugin;

export interface FastifySecurityEventsOptions extends SecurityEventsOptions {
  manager: UpstreamRevoker;
}

const eventsPlugin: FastifyPluginAsync<FastifySecurityEventsOptions> = async (fastify, options) => {
  if (options === null || typeof options !== 'object') throw new SessionHttpError('ERR_CONFIG_INVALID', 'options must be an object with a manager and a receiver');
  const { manager, prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...rest } = options as FastifySecurityEventsOptions & Record<string, unknown>;
  const endpoint = new SecurityEventsEndpoint(manager, rest as SecurityEventsOptions);
  const route = endpoint.path.slice(fastify.prefix.replace(/\/+$/, '').length) || '/';
  const send = (reply: import('fastify').FastifyReply, response: EndpointResponse) => reply.code(response.status).headers(response.headers).send(response.body);
  await fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/secevent+jwt', { parseAs: 'string', bodyLimit: endpoint.maxBodyBytes }, (_request, body, done) => done(null, { text: body as string }));
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: endpoint.maxBodyBytes }, (_request, _body, done) => done(null, undefined));
    scope.setErrorHandler(async (error, _request, reply) => {
      const tooLarge = (error as { statusCode?: number }).statusCode === 413;
      return send(reply, await endpoint.handle(undefined, tooLarge ? { tooLarge: true } : undefined));
    });
    scope.post(route, async (request, reply) => send(reply, await endpoint.handle(request.headers['content-type'], request.body as { text: string } | undefined)));
  });
};

Object.assign(eventsPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'jwtSessionSecurityEvents',
  [Symbol.for('plugin-meta')]: { name: 'jwtSessionSecurityEvents', fastify: '5.x' },
});

/** The Shared Signals push endpoint (RFC 8935) as a Fastify plugin: `app.register(securityEventsRoute, { manager, path, receiver })`. */
export const securityEventsRoute = eventsPlugin;

export { sessionRoutes, type FastifySessionRoutesOptions } from './adapters/fastify.js';
export { SessionHttpError, HTTP_ERROR_CODES, type HttpErrorCode } from './core/errors.js';
export type { IssueSessionOptions, ReauthenticateSessionOptions, ReauthenticationCheck, ReauthenticationRequest, SessionBody, SessionView } from './core/endpoints.js';
export type { CookiePrefix, RefreshCookieOptions, SessionEndpointsOptions, SessionManagerLike } from './core/options.js';
export { backchannelLogoutRoute, securityEventsRoute, type FastifyBackchannelLogoutOptions, type FastifySecurityEventsOptions } from './adapters/fastify-logout.js';
export type { SecurityEventsOptions } from './core/security-events.js';
export type { BackchannelLogoutOptions, UpstreamRevoker } from './core/backchannel-logout.js';

export { sessionRouter, type SessionRouter } from './adapters/express.js';
export { SessionHttpError, HTTP_ERROR_CODES, type HttpErrorCode } from './core/errors.js';
export { describeDevice } from './core/device.js';
export type { IssueSessionOptions, ReauthenticateSessionOptions, ReauthenticationCheck, ReauthenticationRequest, SessionBody, SessionView } from './core/endpoints.js';
export type { CookiePrefix, RefreshCookieOptions, SessionEndpointsOptions, SessionManagerLike } from './core/options.js';
export type { DpopEndpointOptions, DpopNonceSource } from './core/dpop.js';
export type { RevocationLogBody, RevocationLogOptions } from './core/revocations.js';
export { backchannelLogout, type BackchannelLogoutMiddleware } from './adapters/express-logout.js';
export { BackchannelLogoutEndpoint, type BackchannelLogoutOptions, type LogoutBody, type UpstreamRevoker } from './core/backchannel-logout.js';

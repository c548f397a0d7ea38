export { AuthError, ADAPTER_ERROR_CODES, ADAPTER_ERROR_REASONS, toAuthError, type AdapterErrorCode, type AdapterErrorReason, type AuthErrorCode, type AuthErrorReason } from './errors.js';
export { extractToken, type CookieTokenOptions, type TokenRequest, type TokenSource, type TokenSourceOptions } from './token-source.js';
export {
  authenticateRequest,
  authenticateToken,
  type AuthContext,
  type AuthSocketData,
  type AuthenticateOptions,
  type ProvisionedUser,
  type UserProvider,
} from './authenticate.js';
export { userRoom, sessionRoom, type RoomOptions } from './rooms.js';
export { socketAuth, type SessionTracker, type SocketAuthOptions, type HandshakeError } from './socket-auth.js';
export { attachSessionGuard, type NamespaceSelector, type SessionGuard, type SessionGuardOptions } from './guard/session-guard.js';
export type { RenewRateLimit } from './guard/renewal-bucket.js';
export {
  SESSION_EXPIRED_EVENT,
  SESSION_RENEW_EVENT,
  SESSION_REVOKED_EVENT,
  type RenewResult,
  type RevocationReason,
  type SessionExpiredPayload,
  type SessionRevokedPayload,
} from './guard/protocol.js';
export type { Scheduler } from './timers.js';
export { httpAuth, httpFailure, httpStatusOf, type AuthenticatedRequest, type DpopGuardFields, type GetToken, type HttpAuthNetworkOptions, type HttpAuthOptions, type HttpFailure, type HttpRequestLike } from './http-auth.js';
export type { GuardDpopOptions } from './dpop.js';
export { httpAuthenticator, type HttpAuthenticator, type HttpAuthResult } from './http-authenticator.js';
export { socketsOfUser, isUserOnline, disconnectUser, disconnectSession, type RoomTarget } from './helpers.js';
export { requireFresh, requireFreshEvents, freshCheck, SESSION_NOT_FRESH_EVENT, type FreshCheck, type NotFreshAnswer, type NotFreshBody, type RequireFreshOptions } from './fresh.js';

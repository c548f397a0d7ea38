export { JwtUserSessionManager } from './manager.js';
export type { ReauthenticateOptions } from './reauthenticate.js';
export { checkFreshness, checkFreshnessRequirement, freshnessChallenge, AUTHENTICATION_CONTEXT_KEY, type AuthenticationInput, type FreshnessRequirement } from './freshness.js';
export type { JwtUserSessionManagerOptions } from './options.js';
export type { RevocationEventName, SessionVerifier } from './verifier-types.js';
export { SessionError, SESSION_ERROR_CODES, SESSION_ERROR_MESSAGES, SESSION_ERROR_REASONS, isSessionError, type SessionErrorCode, type SessionErrorReason } from './errors.js';
export { SIGNING_ALGORITHMS, type SigningAlgorithm, type SigningKey } from './keys.js';
export {
  SESSION_CREATED,
  SESSION_REFRESHED,
  SESSION_INVALIDATED,
  ALL_SESSIONS_INVALIDATED,
  REFRESH_TOKEN_REUSED,
  DPOP_BINDING_REFUSED,
  SESSION_CREATED_ON_NEW_DEVICE,
  SESSION_DEVICE_CHANGED,
  type EventOrigin,
  type SessionEvents,
  type SessionEventName,
  type SessionEventListener,
} from './events.js';
export type {
  AccessTokenClaims,
  CreateOptions,
  DeviceInput,
  JsonValue,
  SessionContext,
  SessionInfo,
  SessionTokens,
  UpdateOptions,
} from './types.js';
export { DEFAULT_RECEIPT_TTL } from './storage.js';
export { REUSE_REASONS, RefreshTokenReusedError, type ReuseAction, type ReuseEvent, type ReuseKind, type ReusePolicy } from './reuse.js';
export { MAX_ACCESS_TOKEN_TTL_JITTER } from './jitter.js';
export { checkDeviceFingerprint, type DeviceHistoryOptions } from './device.js';
export type { DriftPolicy } from './drift.js';
export { MAX_UPSTREAM_ISSUER_LENGTH, MAX_UPSTREAM_ID_LENGTH, matchesUpstream, type UpstreamIdentity, type UpstreamSelector, type UpstreamSessionRef } from './upstream/identity.js';
export { storeInput } from './store-input.js';
export { assertInvalidationReceiver, parseInvalidationEvent } from './revocation/event.js';
export { checkRevocationLogRead, MAX_REVOCATION_LOG_PAGE, REVOCATION_LOG_CURSOR } from './revocation/log.js';
export { PollingInvalidationBroadcaster, RevocationPollError, type PollingInvalidationBroadcasterOptions } from './revocation/polling-broadcaster.js';
export type {
  DeleteAllResult,
  DeviceHistoryResult,
  InsertOptions,
  InsertResult,
  InvalidAccessTokenCache,
  InvalidationBroadcaster,
  InvalidationEvent,
  InvalidationReason,
  InvalidationReceiver,
  InvalidationSubscription,
  NewSessionRecord,
  RevocationLogEntry,
  RevocationLogPage,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionInvalidation,
  SessionRecord,
  StoredSessionInfo,
  SubjectInvalidation,
} from './storage.js';
export { subjectHashTag, sessionHashTag, subjectDigest, sessionSubjectDigest, isSessionIdOf, SUBJECT_DIGEST_LENGTH } from './lib/ids.js';
export { MAX_ACCESS_TOKEN_LENGTH } from './lib/token-syntax.js';
export { RESERVED_CLAIMS, MAX_CLAIMS_BYTES, MAX_CONTEXT_BYTES, MAX_SUBJECT_LENGTH } from './lib/claims.js';
export { JwtSessionVerifier, type RevocationClaims } from './verifier/verifier.js';
export type { JwtSessionVerifierOptions, VerificationKey, VerifierTokens } from './verifier/options.js';
export { guardTelemetry, type GuardTelemetry, type MeterProviderLike, type TelemetryOption, type TracerProviderLike } from './telemetry/telemetry.js';
export { verifyDpopProof, accessTokenHash, MAX_DPOP_PROOF_LENGTH, MAX_DPOP_JTI_LENGTH, DEFAULT_DPOP_MAX_AGE, DEFAULT_DPOP_CLOCK_TOLERANCE, type DpopProofCheck, type DpopNonceCheck, type VerifiedDpopProof } from './dpop/proof.js';
export { DPOP_ALGORITHMS, DEFAULT_DPOP_ALGORITHMS, type DpopAlgorithm } from './dpop/algorithms.js';
export { DPOP_REFUSAL_REASONS, type DpopRefusalReason } from './dpop/refusal.js';
export { jwkThumbprint } from './dpop/thumbprint.js';
export type { DpopPublicJwk } from './dpop/jwk.js';
export { normalizeHtu, publicRequestUrl, checkPublicOrigin } from './dpop/htu.js';
export { singleDpopHeader } from './dpop/header.js';
export { DpopNonces, type DpopNoncesOptions } from './dpop/nonce.js';
export {
  LogoutTokenVerifier,
  BACKCHANNEL_LOGOUT_EVENT,
  LOGOUT_TOKEN_ALGORITHMS,
  MAX_LOGOUT_TOKEN_LENGTH,
  type LogoutTokenAlgorithm,
  type LogoutOutcome,
  type LogoutTokenVerifierOptions,
  type UpstreamProvider,
  type VerifiedLogoutToken,
} from './upstream/logout-token.js';
export {
  SecurityEventReceiver,
  SetRefusal,
  setErrorOf,
  SESSION_ENDING_EVENTS,
  type SecurityEventReceiverOptions,
  type SecurityEventResult,
  type SetErrorCode,
  type SetTransmitter,
  type SubjectIdentifier,
} from './upstream/security-event.js';
export { checkDpopReplay, dpopReplayKey, type DpopReplayCache } from './dpop/replay.js';
export {
  normalizeDpopOptions,
  dpopChallenge,
  dpopRequestUrl,
  requestOrigin,
  type DpopOptions,
  type DpopNonceSource,
  type NormalizedDpopOptions,
  type DpopRequestLike,
} from './dpop/guard-options.js';
export { checkBoundRequest, type BoundRequestCheck, type DpopBinding, type DpopBindingRefusal, type DpopRefresh } from './dpop/binding.js';

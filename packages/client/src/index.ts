export { SessionClient, CSRF_HEADER } from './client.js';
export { SessionClientError, type SessionClientErrorCode } from './errors.js';
export type { SessionBody, SessionView, SignedOutReason, SessionClientEvents, SessionClientOptions, StepUpChallenge, LockManagerLike, ChannelLike, SocketLike } from './types.js';

/* The upstream identity's shapes, apart from their checks (identity.ts) so types.ts and storage.ts import no code. */

/** The provider's identity of a session: `iss`, `sub` and, when the provider sends one, `sid` of its ID token. */
export interface UpstreamIdentity {
  issuer: string;
  subject: string;
  /** The provider's session id (`sid`); absent when the provider has none. */
  sessionId?: string | undefined;
}

/** Which linked sessions to find or end: those of one provider session, or every one of a provider's user. */
export type UpstreamSelector = { issuer: string; sessionId: string; subject?: undefined } | { issuer: string; subject: string; sessionId?: undefined };

/** A session a store found for an {@link UpstreamSelector}: enough to end it through the usual path. */
export interface UpstreamSessionRef {
  /** The application's subject of the session. */
  subject: string;
  sessionId: string;
}

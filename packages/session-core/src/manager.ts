import type { JWK, JWTPayload } from 'jose';
import { SessionError, reasonOf, storageError } from './errors.js';
import { DPOP_BINDING_REFUSED, REFRESH_TOKEN_REUSED, SESSION_CREATED, SESSION_CREATED_ON_NEW_DEVICE, SessionEventEmitter, type SessionEventName, type SessionEvents } from './events.js';
import { createBinding, withBinding } from './dpop/binding.js';
import { publicJwks } from './keys.js';
import { invalidAccessToken, keyResolver, verifyAccessToken, type VerifyConfig } from './lib/access-token.js';
import { callOptions } from './lib/call-options.js';
import { checkClaims, checkContext, checkSubject } from './lib/claims.js';
import { checkCallerContext, createAuthentication, withAuthentication } from './freshness.js';
import { checkReauthentication, type ReauthenticateOptions } from './reauthenticate.js';
import { newSessionId } from './lib/ids.js';
import { issueTokens, type IssueConfig } from './lib/issue.js';
import { randomBase64url } from './lib/random-pool.js';
import { hashSecret } from './lib/refresh-token.js';
import type { ReuseHandler } from './reuse.js';
import { rotateSession, type ReauthenticationStamp, type RotationDeps } from './rotation.js';
import { createDevice, noteDevice } from './device.js';
import { checkNetwork, driftMarks } from './drift.js';
import { sessionInfos } from './lib/session-info.js';
import { isWellFormedJws } from './lib/token-syntax.js';
import { VerifiedTokenCache, checkRevocation, type VerifiedToken } from './lib/verified-cache.js';
import { checkedPayload } from './lib/verified-payload.js';
import { cacheGauges, countEvent, readFailure } from './telemetry/observe.js';
import { createTelemetry, type Telemetry } from './telemetry/telemetry.js';
import { configChecked, normalizeOptions, type JwtUserSessionManagerOptions, type NormalizedOptions } from './options.js';
import { Revocation } from './revocation/revocation.js';
import { deleteAll, deleteOne, deleteOthers, type DeletionDeps } from './revocation/deletion.js';
import type { StoredSessionInfo } from './storage.js';
import { revokeUpstreamSessions, upstreamForCreate, type UpstreamSelector } from './upstream/revoke.js';
import type { AccessTokenClaims, CreateOptions, SessionInfo, SessionTokens, UpdateOptions } from './types.js';

/**
 * Issues short-lived access JWTs and long-lived rotating refresh tokens, and
 * revokes them on every node at once.
 *
 * @example
 * ```ts
 * const manager = new JwtUserSessionManager({
 *   keys: { kid: '2026-11', algorithm: 'HS256', secret: process.env.JWT_SECRET! },
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 *   refreshTokenStore: new MemoryRefreshTokenStore(),
 *   invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
 * });
 * const tokens = await manager.create('user-42', { context: { ip, userAgent } });
 * const claims = await manager.read(tokens.accessToken);
 * ```
 */
export class JwtUserSessionManager extends SessionEventEmitter {
  readonly #options: NormalizedOptions;
  readonly #issueConfig: IssueConfig;
  readonly #verifyConfig: VerifyConfig;
  readonly #verified: VerifiedTokenCache;
  readonly #revocation: Revocation;
  /** ms an invalidation must be remembered: the longest an access token issued now can still verify. */
  readonly #invalidationTtl: number;
  readonly #telemetry: Telemetry;
  readonly #reuse: ReuseHandler;
  readonly #deletion: DeletionDeps;
  readonly #rotation: RotationDeps;
  #closed = false;

  constructor(options: JwtUserSessionManagerOptions) {
    super();
    const normalized = configChecked(() => normalizeOptions(options));
    this.#telemetry = createTelemetry(normalized.telemetry);
    const o = { ...normalized, refreshTokenStore: this.#telemetry.instrumentStore(normalized.refreshTokenStore) };
    this.#options = o;
    this.#issueConfig = { issuer: o.issuer, audience: o.audience, accessTokenTtl: o.accessTokenTtl, accessTokenTtlJitter: o.accessTokenTtlJitter, refreshTokenKey: o.refreshTokenKey, signingKey: o.keys[0]!, networkClaim: o.drift?.policy === 'refresh' };
    this.#verifyConfig = { resolveKey: keyResolver(o.keys), issuer: o.issuer, audience: o.audience, clockTolerance: o.clockTolerance };
    this.#verified = new VerifiedTokenCache(o.verifiedTokenCacheSize);
    // +1 s because exp is rounded down to whole seconds.
    this.#invalidationTtl = (o.accessTokenTtl + o.clockTolerance + 1) * 1000;
    const emit = (event: SessionEventName, payload: SessionEvents[SessionEventName]) => this.emit(event, payload as never);
    this.#revocation = new Revocation({ cache: o.invalidAccessTokenCache, broadcaster: o.broadcaster, clock: o.clock, clockTolerance: o.clockTolerance, ttl: this.#invalidationTtl, emit, onRetry: () => this.#telemetry.broadcastRetry() });
    this.#deletion = { store: o.refreshTokenStore, clock: o.clock, revocation: this.#revocation };
    cacheGauges(this.#telemetry, { verified: this.#verified, invalidations: o.invalidAccessTokenCache });
    this.#reuse = { policy: o.refreshTokenReusePolicy, store: o.refreshTokenStore, emit: (event) => this.emit(REFRESH_TOKEN_REUSED, event), revoke: (subject, sessionId, now) => this.#revocation.revokeSession(subject, sessionId, 'reused', now).catch(() => undefined) };
    this.#rotation = {
      options: o,
      issueConfig: this.#issueConfig,
      reuse: this.#reuse,
      telemetry: this.#telemetry,
      assertOpen: () => this.#assertOpen(),
      emit: (event, payload) => this.emit(event, payload),
      bindingRefused: (payload) => this.emit(DPOP_BINDING_REFUSED, payload),
      deleteOne: (subject, sessionId) => this.deleteOne(subject, sessionId),
    };
  }

  protected override emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    countEvent(this.#telemetry, this.#options.clock, event, payload);
    super.emit(event, payload);
  }

  /** Resolves once the broadcaster has replayed recent invalidations from other nodes. */
  async ready(): Promise<void> {
    await this.#revocation.ready();
  }

  /** Opens a session for `subject` and returns its first token pair. */
  async create(subject: string, options: CreateOptions = {}): Promise<SessionTokens> {
    this.#assertOpen();
    checkSubject(subject);
    const call = callOptions(options);
    const { deviceHistory, drift } = this.#options;
    const device = createDevice(call.device, deviceHistory, drift !== undefined);
    const claims = withBinding(checkClaims(call.claims), createBinding(call.dpop));
    const { refreshTokenStore: store, refreshTokenTtl, refreshTokenIdleTtl, maxSessionsPerSubject } = this.#options;
    const upstream = upstreamForCreate(store, call.upstream);
    const now = this.#options.clock();
    // How the user authenticated, when the caller says: kept in the context (freshness.ts says why), carried in every access token.
    const stamp = createAuthentication(call, now, this.#options.clockTolerance);
    const context = stamp === undefined ? checkCallerContext(checkContext(call.context)) : withAuthentication(checkCallerContext(checkContext(call.context)), stamp);

    const sessionId = newSessionId(subject);
    const secret = randomBase64url(32);
    const expiresAt = now + refreshTokenTtl;
    const idleExpiresAt = refreshTokenIdleTtl === undefined ? undefined : Math.min(now + refreshTokenIdleTtl, expiresAt);
    const session = { sessionId, subject, tokenHash: hashSecret(secret), createdAt: now, expiresAt, idleExpiresAt, claims, context, upstream };

    const receiptTtl = Math.ceil(this.#invalidationTtl);
    let evicted: string[];
    try {
      ({ evicted } = await store.insert(session, { now, maxSessionsPerSubject, receiptTtl }));
    } catch (error) {
      // The insert may still run (a stalled Redis wakes up) and evict someone: find out once the store answers, and revoke what it evicted.
      this.#revocation.reconcile(async () => {
        const late = await store.settleInsert(subject, sessionId, { now: this.#options.clock(), receiptTtl });
        this.#revokeEvicted(subject, late, now);
      });
      throw storageError('create', error);
    }
    this.#revokeEvicted(subject, evicted, now);

    let tokens: SessionTokens;
    try {
      tokens = issueTokens(this.#issueConfig, session, secret, now, device === undefined || drift === undefined ? undefined : driftMarks(drift, sessionId, device));
    } catch (error) {
      await store.delete(subject, sessionId, now).catch(() => undefined);
      throw error;
    }
    this.emit(SESSION_CREATED, { subject, sessionId, at: now });
    const news = device === undefined || deviceHistory === undefined ? undefined : await noteDevice(deviceHistory, store, { subject, sessionId, now }, device);
    if (news !== undefined) this.emit(SESSION_CREATED_ON_NEW_DEVICE, news);
    return tokens;
  }

  /**
   * Verifies an access token and returns its claims. Needs no storage: the
   * signature, the claims, then this node's invalidation cache. Throws only
   * {@link SessionError}: ERR_AUTH_TOKEN_INVALID, ERR_AUTH_TOKEN_EXPIRED or
   * ERR_SESSION_REVOKED.
   */
  async read(accessToken: string): Promise<AccessTokenClaims> {
    return this.readSync(accessToken);
  }

  /**
   * {@link read} without the promise: verification is synchronous
   * (node:crypto), so the answer needs no I/O. Same checks, same telemetry;
   * the `SessionError` is thrown. For guards on a hot path (an HTTP
   * middleware), where a promise and its microtask turns cost more than the
   * cache hit they wait for.
   */
  readSync(accessToken: string): AccessTokenClaims {
    const now = this.#options.clock();
    if (typeof accessToken === 'string') {
      const hit = this.#verified.get(accessToken, now);
      if (hit !== undefined) {
        checkRevocation(hit, this.#options.invalidAccessTokenCache, this.#assertNotRevoked);
        this.#telemetry.read('cache_hit');
        return hit.claims;
      }
    }
    let entry: VerifiedToken;
    try {
      if (!isWellFormedJws(accessToken)) throw invalidAccessToken('malformed');
      this.#assertOpen();
      entry = this.#checkPayload(accessToken, verifyAccessToken(accessToken, this.#verifyConfig, now), now);
    } catch (error) {
      this.#telemetry.readRefused(readFailure(error), reasonOf(error));
      throw error;
    }
    checkRevocation(entry, this.#options.invalidAccessTokenCache, this.#assertNotRevoked);
    this.#verified.offer(entry);
    this.#telemetry.read('verified');
    return entry.claims;
  }

  /** The subject's live sessions, newest first. */
  async readAll(subject: string): Promise<SessionInfo[]> {
    this.#assertOpen();
    checkSubject(subject);
    let sessions: StoredSessionInfo[];
    try {
      sessions = await this.#options.refreshTokenStore.list(subject, this.#options.clock());
    } catch (error) {
      throw storageError('readAll', error);
    }
    return sessionInfos(sessions);
  }

  /**
   * Rotates a refresh token: returns a new pair and invalidates the token it
   * was given. A rotated-out token is ERR_REFRESH_TOKEN_REUSED, and revokes the
   * session as `refreshTokenReusePolicy` says, except the immediately previous
   * one within `refreshTokenReuseInterval`: it gets the same new pair again. A
   * session bound to a DPoP key is refreshed only with `dpop.jkt` of that key:
   * otherwise ERR_DPOP_BINDING_MISMATCH and the `dpopBindingRefused` event,
   * before any store call (the session is left intact). Under the manager's
   * `drift`, `device` is compared with the session's (drift.ts).
   */
  update(refreshToken: string, options: UpdateOptions = {}): Promise<SessionTokens> {
    return this.#telemetry.span('jwt_session.update', () => this.#update(refreshToken, options));
  }

  /**
   * After the app checked a credential again (a password, a second factor):
   * stamps the session with a new `auth_time` (and `amr`, `acr`) and rotates
   * it, atomically; returns the new pair (the old refresh token dies as on any
   * rotation). The subject's other sessions are untouched; a DPoP-bound
   * session needs its key's proof (`dpop`) as for `update`, and keeps its
   * binding. ERR_REFRESH_TOKEN_INVALID (`unknown_session`) when `sessionId` is
   * not a live session of `subject` or the refresh token is not its,
   * ERR_SESSION_REVOKED when this node knows it revoked; else as `update`.
   */
  async reauthenticate(subject: string, sessionId: string, options: ReauthenticateOptions): Promise<SessionTokens> {
    this.#assertOpen();
    const { clock, clockTolerance: tolerance, refreshTokenStore: store } = this.#options;
    const revokedBy = (claims: { sub: string; sid: string; jti: string }) => this.#revocation.revokedBy(claims);
    const r = await checkReauthentication(subject, sessionId, options, { store, now: clock(), tolerance, revokedBy });
    return this.#telemetry.span('jwt_session.reauthenticate', () => this.#update(r.refreshToken, { dpop: r.dpop } as UpdateOptions, r));
  }

  #update(refreshToken: string, options: UpdateOptions, stamp?: ReauthenticationStamp): Promise<SessionTokens> {
    return rotateSession(this.#rotation, refreshToken, options, stamp);
  }

  /**
   * Ends one session of the subject: its refresh token and, on every node,
   * its access tokens. Fails safe: whenever the id is one of the subject's
   * (its hash tag is the subject's), the access tokens are invalidated
   * whatever the store answers, or if it does not answer at all (a timed-out
   * delete may still run). Returns whether the store found a live session.
   */
  async deleteOne(subject: string, sessionId: string): Promise<boolean> {
    this.#assertOpen();
    return deleteOne(subject, sessionId, this.#deletion);
  }

  /**
   * Ends every session of the subject and rejects, on every node, every access
   * token of the sessions the store found, and every access token of the
   * subject issued at or before the deletion, including those of sessions that
   * already expired. The moment is the later of the store's clock and this
   * node's: a token issued by a node whose clock runs ahead of both, for a
   * session no longer live, is the remaining gap (bounded by the clock skew).
   * Returns how many live sessions were deleted.
   */
  async deleteAll(subject: string): Promise<number> {
    this.#assertOpen();
    return deleteAll(subject, this.#deletion);
  }

  /**
   * Ends every session of the subject except `keepSessionId` ("sign out my
   * other devices"), each one as {@link deleteOne} does: its refresh token and,
   * on every node, its access tokens. Returns how many were deleted. A session
   * created while this runs is not affected. When the store fails on one of
   * them, that session's access tokens are invalidated anyway (we cannot tell
   * whether the delete ran), the others are still processed, and the call
   * rejects with ERR_STORAGE_UNAVAILABLE.
   */
  async deleteOthers(subject: string, keepSessionId: string): Promise<number> {
    this.#assertOpen();
    return deleteOthers(subject, keepSessionId, this.#deletion);
  }

  /** Ends, as {@link deleteOne} does, every session opened for the provider's session or user (`create({ upstream })`); returns how many were live. */
  revokeUpstream(selector: UpstreamSelector): Promise<number> {
    return revokeUpstreamSessions({ store: this.#options.refreshTokenStore, clock: this.#options.clock, deleteOne: (s, id) => this.deleteOne(s, id) }, selector);
  }

  /**
   * Whether this node's invalidation cache rejects claims that `read()`
   * returned earlier: synchronous, no signature or expiry check. For callers
   * that hold verified claims and must notice a revocation, such as a socket
   * guard re-checking a live connection.
   */
  isRevoked(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'jti'>): boolean {
    return this.#revocation.isRevoked(claims);
  }

  /** For guards under the 'refresh' drift policy: throws ERR_AUTH_TOKEN_INVALID (`drift`) when claims from read() carry a `dnh` not of `network`. */
  checkNetwork(claims: AccessTokenClaims, network: string): void {
    checkNetwork(this.#options.drift, claims, network);
  }

  /** The public keys of the asymmetric keys, for services that verify with jose's createRemoteJWKSet. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return publicJwks(this.#options.keys);
  }

  /**
   * Leaves the broadcaster and stops background retries. The store, cache and
   * broadcaster belong to the caller, who closes them.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#verified.clear();
    this.#telemetry.close();
    await this.#revocation.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('ERR_CONFIG_INVALID', 'the session manager is closed', undefined, 'closed');
  }

  #checkPayload(token: string, payload: JWTPayload, now: number): VerifiedToken {
    return checkedPayload(token, payload, now, this.#options.clockTolerance);
  }

  // A property, not a method: checkRevocation calls it without a closure made per read().
  readonly #assertNotRevoked = (token: VerifiedToken): void => {
    const reason = this.#revocation.revokedBy(token.claims);
    if (reason === undefined) return;
    this.#telemetry.readRefused('revoked', reason);
    throw new SessionError('ERR_SESSION_REVOKED', 'session has been revoked', undefined, reason);
  };

  /** The sessions an insert evicted: the new session exists either way; a broadcast that fails now is retried in the background. */
  #revokeEvicted(subject: string, evicted: readonly string[], now: number): void {
    for (const id of evicted) this.#revocation.revokeSession(subject, id, 'evicted', now).catch(() => undefined);
  }
}

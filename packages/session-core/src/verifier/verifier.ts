import { SessionError, reasonOf } from '../errors.js';
import { SessionEventEmitter, type SessionEventName, type SessionEvents } from '../events.js';
import { tokenIdTime } from '../lib/ids.js';
import { invalidAccessToken } from '../lib/access-token.js';
import { isWellFormedJws } from '../lib/token-syntax.js';
import { VerifiedTokenCache, checkRevocation, type VerifiedToken } from '../lib/verified-cache.js';
import type { InvalidationSubscription } from '../storage.js';
import type { AccessTokenClaims } from '../types.js';
import type { SessionVerifier } from '../verifier-types.js';
import { normalizeVerifierOptions, type JwtSessionVerifierOptions, type NormalizedVerifierOptions } from './options.js';
import { remoteInvalidations } from '../revocation/receiver.js';
import { configChecked } from '../options.js';
import { tokenVerification, type TokenVerification } from './verification.js';
import { cacheGauges, countEvent, readFailure } from '../telemetry/observe.js';
import { createTelemetry, type Telemetry } from '../telemetry/telemetry.js';

/** What `isRevoked` reads: `sid` and `jti` are absent from many providers' tokens. */
export type RevocationClaims = Pick<AccessTokenClaims, 'sub'> & { readonly sid?: unknown; readonly jti?: unknown; readonly iat?: unknown };

/**
 * Verifies access tokens and enforces revocations on a service that does not
 * issue them (an API, a Socket.IO gateway, a worker): no refresh-token store,
 * only the keys — configured, or a JWK Set URL — and the broadcaster the
 * issuing service publishes revocations on. It emits the manager's
 * `sessionInvalidated` / `allSessionsInvalidated` events (origin `remote`) and
 * implements {@link SessionVerifier}, so `httpAuth`, the Fastify plugin,
 * `socketAuth` and `attachSessionGuard` take it in place of a manager.
 *
 * With `tokens: 'oidc'` it verifies another OpenID Connect provider's tokens
 * (access tokens, `typ` `at+jwt` or the types the application lists; often
 * no `sid`/`jti`); a subject revocation published on the
 * broadcaster (e.g. `jwt-session sessions revoke <subject> --all`) then
 * rejects the subject's tokens issued (`iat`) at or before it.
 *
 * @example
 * ```ts
 * const verifier = new JwtSessionVerifier({
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 *   invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
 *   broadcaster: new RedisInvalidationBroadcaster(redis),
 * });
 * await verifier.ready();
 * const claims = await verifier.read(accessToken);
 * ```
 */
export class JwtSessionVerifier extends SessionEventEmitter implements SessionVerifier {
  readonly #options: NormalizedVerifierOptions;
  readonly #verification: TokenVerification;
  readonly #verified: VerifiedTokenCache;
  readonly #subscription: InvalidationSubscription | undefined;
  readonly #telemetry: Telemetry;
  #closed = false;

  constructor(options: JwtSessionVerifierOptions) {
    super();
    const o = configChecked(() => normalizeVerifierOptions(options));
    this.#options = o;
    this.#verification = tokenVerification(o);
    this.#verified = new VerifiedTokenCache(o.verifiedTokenCacheSize);
    // Before subscribing: a broadcaster may replay events synchronously, and each is counted.
    this.#telemetry = createTelemetry(o.telemetry);
    const receiver = remoteInvalidations(o.invalidAccessTokenCache, o.clock, o.clockTolerance, (event, payload) => this.emit(event, payload), () => !this.#closed, o.maxTokenLifetime * 1000);
    this.#subscription = o.broadcaster?.subscribe(receiver);
    cacheGauges(this.#telemetry, { verified: this.#verified, invalidations: o.invalidAccessTokenCache });
  }

  protected override emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    countEvent(this.#telemetry, this.#options.clock, event, payload);
    super.emit(event, payload);
  }

  /**
   * Resolves once the broadcaster has replayed the revocations still in force
   * and, with `jwksUrl`, the key set has been fetched; rejects with
   * ERR_STORAGE_UNAVAILABLE when it cannot be.
   */
  async ready(): Promise<void> {
    await Promise.all([this.#verification.prefetch(), this.#subscription?.ready()]);
  }

  /**
   * Verifies an access token and returns its claims: the signature, the
   * claims, then this node's invalidation cache. Throws only
   * {@link SessionError}: ERR_AUTH_TOKEN_INVALID, ERR_AUTH_TOKEN_EXPIRED,
   * ERR_SESSION_REVOKED, or ERR_STORAGE_UNAVAILABLE when a JWK Set is needed
   * and none can be had (the fetch failed and no good set fetched earlier is
   * still usable).
   */
  async read(accessToken: string): Promise<AccessTokenClaims> {
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
      if (this.#closed) throw new SessionError('ERR_CONFIG_INVALID', 'the verifier is closed', undefined, 'closed');
      entry = await this.#verification.verify(accessToken, now);
    } catch (error) {
      this.#telemetry.readRefused(readFailure(error), reasonOf(error));
      throw error;
    }
    checkRevocation(entry, this.#options.invalidAccessTokenCache, this.#assertNotRevoked);
    this.#verified.offer(entry);
    this.#telemetry.read('verified');
    return entry.claims;
  }

  /**
   * Whether this node rejects claims `read()` returned earlier: the session
   * (`sid`) is invalidated, or the subject is, for tokens issued at or before
   * its moment. Synchronous. A token that cannot be dated against a subject
   * revocation (no usable `jti` or `iat`) counts as revoked.
   */
  isRevoked(input: RevocationClaims): boolean {
    return this.#revokedBy(input) !== undefined;
  }

  /** Why this node rejects the claims (the reason of ERR_SESSION_REVOKED), or undefined when it does not. */
  #revokedBy(input: RevocationClaims): 'session_revoked' | 'subject_revoked' | undefined {
    let claims: RevocationClaims;
    try {
      // Read once into a plain object: a proxy or a throwing getter is bad input, not a crash.
      claims = { sub: input.sub, sid: input.sid, jti: input.jti, iat: input.iat };
    } catch {
      throw invalidAccessToken('missing_claim');
    }
    if (typeof claims.sub !== 'string') throw invalidAccessToken('missing_claim');
    const cache = this.#options.invalidAccessTokenCache;
    if (typeof claims.sid === 'string' && cache.isSessionInvalidated(claims.sid)) return 'session_revoked';
    const at = cache.subjectInvalidatedAt(claims.sub);
    return at !== undefined && !(this.#issuedAt(claims) > at) ? 'subject_revoked' : undefined;
  }

  /** Leaves the broadcaster. The cache and broadcaster belong to the caller, who closes them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#verified.clear();
    this.#telemetry.close();
    await this.#subscription?.close();
  }

  /**
   * ms. This library's jti carries its issue time in ms (iat's whole seconds
   * would reject a session created in the same second after a sign-out
   * everywhere); another provider's jti is opaque (its bytes could decode to
   * any time), so only iat dates its tokens.
   */
  #issuedAt(claims: RevocationClaims): number {
    if (this.#options.tokens === 'jwt-session') return typeof claims.jti === 'string' ? tokenIdTime(claims.jti) : Number.NaN;
    return typeof claims.iat === 'number' ? claims.iat * 1000 : Number.NaN;
  }

  // A property, not a method: checkRevocation calls it without a closure made per read().
  readonly #assertNotRevoked = (token: VerifiedToken): void => {
    const reason = this.#revokedBy(token.claims);
    if (reason === undefined) return;
    this.#telemetry.readRefused('revoked', reason);
    throw new SessionError('ERR_SESSION_REVOKED', 'session has been revoked', undefined, reason);
  };
}

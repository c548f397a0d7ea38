import type { FlattenedJWSInput, JWTHeaderParameters, JWTVerifyGetKey } from 'jose';
import { SessionError } from '../errors.js';
import { checkHttpUrl } from '../lib/http-url.js';
import { fetchJwks } from '../verifier/jwks-fetch.js';
import { RemoteKeySet, type RemoteKeySetOptions } from '../verifier/remote-key-set.js';

/*
 * A provider's signing keys for the tokens it pushes (logout tokens, security
 * event tokens): its `jwks_uri`, given or read from its discovery document
 * (OpenID Connect Discovery 1.0 §4), then kept by the verifier's RemoteKeySet
 * (cooldown, backoff, stale-if-error: issue 26 §4). The discovery document is
 * fetched once it is needed and kept once it answered well; a failed fetch is
 * retried no sooner than the key set's cooldown, and a token meanwhile is
 * answered ERR_STORAGE_UNAVAILABLE (503: the provider sends it again).
 */

export type KeySetTiming = Omit<RemoteKeySetOptions, 'url' | 'clock'>;

const unavailable = (cause?: unknown) => new SessionError('ERR_STORAGE_UNAVAILABLE', 'the provider metadata could not be fetched', { cause }, 'jwks');

export class ProviderKeys {
  readonly #issuer: string;
  readonly #timing: KeySetTiming;
  readonly #clock: () => number;
  readonly #allowInsecure: boolean;
  #keys: RemoteKeySet | undefined;
  #pending: Promise<RemoteKeySet> | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;

  constructor(issuer: string, jwksUrl: URL | undefined, timing: KeySetTiming, clock: () => number, allowInsecure: boolean) {
    this.#issuer = issuer;
    this.#timing = timing;
    this.#clock = clock;
    this.#allowInsecure = allowInsecure;
    if (jwksUrl !== undefined) this.#keys = new RemoteKeySet({ url: jwksUrl, clock, ...timing });
  }

  /** jose's key resolver for this provider's tokens. */
  readonly getKey: JWTVerifyGetKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const keys = this.#keys ?? (await this.#discover());
    return keys.getKey(header, token);
  };

  #discover(): Promise<RemoteKeySet> {
    if (this.#pending !== undefined) return this.#pending;
    if (this.#clock() < this.#failedAt + this.#timing.cooldown) return Promise.reject(unavailable(this.#lastError));
    this.#pending = this.#fetchMetadata().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #fetchMetadata(): Promise<RemoteKeySet> {
    try {
      // OpenID Connect Discovery 1.0 §4: the issuer with any trailing slash removed, then the well-known path.
      const url = new URL(`${this.#issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      const metadata = (await fetchJwks(url, this.#timing)) as { issuer?: unknown; jwks_uri?: unknown } | null;
      // §4.3: the issuer in the document must be exactly the one asked for, or the document is not this provider's.
      if (metadata === null || typeof metadata !== 'object' || metadata.issuer !== this.#issuer) throw new Error('the discovery document names another issuer');
      let jwksUrl: URL;
      try {
        jwksUrl = checkHttpUrl(metadata.jwks_uri, 'jwks_uri', this.#allowInsecure, 'allowInsecureUrls');
      } catch {
        throw new Error('the discovery document has no usable jwks_uri');
      }
      this.#keys = new RemoteKeySet({ url: jwksUrl, clock: this.#clock, ...this.#timing });
      return this.#keys;
    } catch (error) {
      this.#failedAt = this.#clock();
      this.#lastError = error;
      throw unavailable(error);
    }
  }
}

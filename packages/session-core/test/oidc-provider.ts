import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes, type webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local HTTP server playing an OpenID Connect provider (as Keycloak, Auth0
 * or Entra ID would for a resource server): its own keys, published as a JWK
 * Set at /jwks (counted, so tests see refetches), rotated on demand, and
 * tokens signed the way such providers sign them (typ JWT, no sid).
 */

export type ProviderAlgorithm = 'RS256' | 'ES256';

interface ProviderKey {
  kid: string;
  alg: ProviderAlgorithm;
  privateKey: webcrypto.CryptoKey;
  jwk: JWK;
}

export class OidcProvider {
  readonly #server: Server;
  readonly #keys: ProviderKey[] = [];
  #down: number | undefined;
  /** How many times the discovery document was requested. */
  discoveries = 0;
  /** The `issuer` the discovery document names (another provider's, to test that it is checked). */
  metadataIssuer: string | undefined;
  /** How many times /jwks was requested, answered or not. */
  fetches = 0;
  url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      if (req.url === '/realms/test/.well-known/openid-configuration') {
        this.discoveries++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: this.metadataIssuer ?? this.issuer, jwks_uri: this.jwksUrl }));
        return;
      }
      if (req.url !== '/jwks') {
        res.writeHead(404).end();
        return;
      }
      this.fetches++;
      if (this.#down === undefined) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.#keys.map((k) => k.jwk) }));
      else res.writeHead(this.#down, { 'content-type': 'text/plain' }).end('key server failure');
    });
  }

  static async start(algorithms: ProviderAlgorithm[] = ['RS256', 'ES256']): Promise<OidcProvider> {
    const provider = new OidcProvider();
    for (const alg of algorithms) await provider.addKey(alg);
    await new Promise<void>((resolve) => provider.#server.listen(0, '127.0.0.1', resolve));
    provider.url = `http://127.0.0.1:${(provider.#server.address() as AddressInfo).port}`;
    return provider;
  }

  get issuer(): string {
    return `${this.url}/realms/test`;
  }

  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }

  /** Adds a key (published at the next fetch); returns its kid. */
  async addKey(alg: ProviderAlgorithm): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg}-${randomBytes(4).toString('hex')}`;
    this.#keys.push({ kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } });
    return kid;
  }

  removeKey(kid: string): void {
    const at = this.#keys.findIndex((k) => k.kid === kid);
    if (at >= 0) this.#keys.splice(at, 1);
  }

  kids(alg?: ProviderAlgorithm): string[] {
    return this.#keys.filter((k) => alg === undefined || k.alg === alg).map((k) => k.kid);
  }

  publicJwk(kid: string): JWK {
    return this.#keys.find((k) => k.kid === kid)!.jwk;
  }

  /** /jwks answers `status` (503 unless given) while down. */
  setUp(up: boolean, status = 503): void {
    this.#down = up ? undefined : status;
  }

  /** A token as the provider issues it: typ JWT, iss/aud/sub/iat/exp, a UUID-like jti, no sid. */
  async sign(claims: Record<string, unknown>, options: { kid?: string; alg?: ProviderAlgorithm; typ?: string | null; omitKid?: boolean } = {}): Promise<string> {
    const key = options.kid === undefined ? this.#keys.find((k) => options.alg === undefined || k.alg === options.alg)! : this.#keys.find((k) => k.kid === options.kid)!;
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> = { alg: key.alg };
    if (!options.omitKid) header.kid = key.kid;
    if (options.typ !== null) header.typ = options.typ ?? 'JWT';
    const payload = { iss: this.issuer, aud: 'account-api', sub: 'user-1', iat: now, exp: now + 300, jti: crypto.randomUUID(), ...claims };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete (payload as Record<string, unknown>)[name];
    return new SignJWT(payload).setProtectedHeader(header as never).sign(key.privateKey);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

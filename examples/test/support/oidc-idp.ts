import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import * as client from 'openid-client';

/*
 * A real OpenID provider (panva's oidc-provider) with back-channel logout on,
 * and a browser-like user agent (a cookie jar over fetch, redirects followed
 * by hand) that signs in through its dev interactions and signs out at its
 * end-session endpoint. The relying party's side is panva's openid-client.
 */

export interface LocalIdp {
  issuer: string;
  /** The provider's signing key (kid rs-1): tokens a test forges with it pass the signature check. */
  key: KeyObject;
  /** Makes the provider, with the relying party as its one client, and starts answering. */
  register(rp: { clientId: string; clientSecret: string; redirectUri: string; backchannelLogoutUri: string }): Provider;
  /** Back-channel logout POSTs the provider made, by their answer's status. */
  deliveries: { ok: number; failed: number };
  stop(): Promise<void>;
}

/** An RSA private key (made as DER and imported again: Node 20's JWK export of a fresh KeyObject can deadlock). */
function rsaKey(): KeyObject {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { format: 'der', type: 'pkcs8' }, publicKeyEncoding: { format: 'der', type: 'spki' } });
  return createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWS signed with RS256 by `key`: what a hostile test forges (with the provider's own key, or another). */
export function signRs256(key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', ...header })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** A key that is not the provider's. */
export const foreignKey = rsaKey;

export async function startIdp(): Promise<LocalIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deliveries = { ok: 0, failed: 0 };
  const key = rsaKey();
  const register = (rp: { clientId: string; clientSecret: string; redirectUri: string; backchannelLogoutUri: string }): Provider => {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: rp.clientId,
        client_secret: rp.clientSecret,
        redirect_uris: [rp.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        backchannel_logout_uri: rp.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [{ ...key.export({ format: 'jwk' }), kid: 'rs-1', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    // oidc-provider refuses calls to special-use addresses (SSRF protection, through undici's dispatcher): the RP here is on loopback.
    fetch: (url, options) => {
      delete (options as { dispatcher?: unknown }).dispatcher;
      return globalThis.fetch(url, options as RequestInit);
    },
  });
  provider.on('backchannel.success', () => deliveries.ok++);
  provider.on('backchannel.error', () => deliveries.failed++);
  server.on('request', provider.callback());
  return provider;
  };
  return {
    issuer,
    key,
    register,
    deliveries,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A browser as far as the provider sees one: its own cookies, redirects followed by hand. */
export class UserAgent {
  readonly #jar = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#jar.size > 0) headers.cookie = [...this.#jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method: init.method ?? 'GET', headers, redirect: 'manual', ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}) });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(cookie)) this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects from `url` until one leaves for `stopAt` (returned) or a page answers 200 (returned). */
  async follow(url: string, stopAt: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ url: string; res: Response }> {
    let res = await this.request(url, init);
    let at = url;
    for (let hops = 0; hops < 20 && res.status >= 300 && res.status < 400; hops++) {
      at = new URL(res.headers.get('location')!, at).href;
      if (at.startsWith(stopAt)) return { url: at, res };
      res = await this.request(at);
    }
    return { url: at, res };
  }
}

const formAction = (html: string, base: string) => new URL(/<form[^>]*action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'), base).href;

/** Signs in as `login` through the dev interactions; returns the callback URL with the code. */
export async function signInAt(ua: UserAgent, authorizationUrl: string, redirectUri: string, login: string): Promise<URL> {
  let { url, res } = await ua.follow(authorizationUrl, redirectUri);
  for (let step = 0; step < 4 && !url.startsWith(redirectUri); step++) {
    const html = await res.text();
    const form = html.includes('name="login"') ? { prompt: 'login', login, password: 'any' } : { prompt: 'consent' };
    ({ url, res } = await ua.follow(formAction(html, url), redirectUri, { method: 'POST', form }));
  }
  if (!url.startsWith(redirectUri)) throw new Error(`sign-in did not reach the redirect URI (at ${url}, HTTP ${res.status})`);
  return new URL(url);
}

/** Ends the user agent's provider session at the end-session endpoint (RP-initiated logout, confirmed); the provider then POSTs the logout tokens. */
export async function signOutAt(ua: UserAgent, config: client.Configuration, idToken: string): Promise<Response> {
  const endUrl = client.buildEndSessionUrl(config, { id_token_hint: idToken });
  const page = await ua.request(endUrl.href);
  const html = await page.text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (xsrf === undefined) throw new Error(`no logout form (HTTP ${page.status})`);
  return ua.request(formAction(html, endUrl.href), { method: 'POST', form: { xsrf, logout: 'yes' } });
}

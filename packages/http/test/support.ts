import { JwtUserSessionManager, type JwtUserSessionManagerOptions } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, fetch as undiciFetch } from 'undici';
import type { IssueSessionOptions, SessionEndpointsOptions } from '../src/index.js';

export const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
export const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:140.0) Gecko/20100101 Firefox/140.0';
export const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A self-signed certificate for localhost / 127.0.0.1, for the https cases only (valid until 2126). */
export const TLS = {
  key: readFileSync(new URL('./fixtures/tls-key.pem', import.meta.url)),
  cert: readFileSync(new URL('./fixtures/tls-cert.pem', import.meta.url)),
};

/** Collects teardown steps; run them in `finally` so a failing assertion still closes everything. */
export class Cleanup {
  readonly #steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch {
        // Keep tearing down the rest.
      }
    }
    this.#steps.length = 0;
  }
}

/** A store whose operations can be made to fail, to play a Redis outage. */
export class SwitchableStore extends MemoryRefreshTokenStore {
  down = false;
  override async rotate(...args: Parameters<MemoryRefreshTokenStore['rotate']>) {
    if (this.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
    return super.rotate(...args);
  }
  override async list(...args: Parameters<MemoryRefreshTokenStore['list']>) {
    if (this.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
    return super.list(...args);
  }
  override async insert(...args: Parameters<MemoryRefreshTokenStore['insert']>) {
    if (this.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
    return super.insert(...args);
  }
  override async findUpstream(...args: Parameters<MemoryRefreshTokenStore['findUpstream']>) {
    if (this.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
    return super.findUpstream(...args);
  }
}

export function makeManager(cleanup: Cleanup, options: Partial<JwtUserSessionManagerOptions> = {}): JwtUserSessionManager & { store: SwitchableStore } {
  const store = new SwitchableStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
    issuer: 'https://auth.test',
    audience: 'https://api.test',
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    ...options,
  });
  cleanup.add(async () => {
    await manager.close();
    await store.close();
    cache.close();
  });
  return Object.assign(manager, { store });
}

/** What every framework's test app offers besides the endpoints. */
export interface AppOptions {
  endpoints: SessionEndpointsOptions;
  /** Passed to issueSession by `POST /login` (the subject comes from the `x-user` header). */
  issue?: IssueSessionOptions;
  tls?: boolean;
}

/**
 * One framework under test. `start` serves an app with the session endpoints,
 * a sign-in route `POST /login` calling issueSession, `GET /app/ping`, and an
 * `OPTIONS {base}/refresh` route of the app's own (to see preflights pass through).
 * `construct` only builds the endpoints, so option errors can be asserted.
 */
export interface Framework {
  name: string;
  start(cleanup: Cleanup, manager: JwtUserSessionManager, options: AppOptions): Promise<string>;
  construct(manager: unknown, options: unknown): Promise<void>;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The one Set-Cookie of the answer, if any. */
  setCookie: string | undefined;
  text: string;
  body: Record<string, unknown> | undefined;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Send `X-JWT-Session: 1`. @default true */
  csrf?: boolean;
  /** The Origin header. @default the server's own origin; null sends none */
  origin?: string | null;
  bearer?: string;
  /** Send the jar's cookie. @default true */
  cookie?: boolean;
}

/**
 * A browser in miniature over real HTTP: fetch, one cookie jar (the refresh
 * cookie), Origin and the CSRF header by default.
 */
export class Client {
  cookie: string | undefined;
  readonly #dispatcher: Agent | undefined;

  constructor(readonly origin: string, readonly userAgent = FIREFOX_MAC) {
    if (origin.startsWith('https:')) this.#dispatcher = new Agent({ connect: { ca: TLS.cert } });
  }

  async call(path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (options.csrf !== false) headers['x-jwt-session'] = '1';
    if (options.origin !== null) headers.origin = options.origin ?? this.origin;
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    if (options.cookie !== false && this.cookie !== undefined) headers.cookie = this.cookie;
    Object.assign(headers, options.headers);
    const init = { method: options.method ?? 'POST', headers, redirect: 'manual' as const };
    const res = this.#dispatcher ? await undiciFetch(this.origin + path, { ...init, dispatcher: this.#dispatcher }) : await fetch(this.origin + path, init);
    const text = await res.text();
    const cookies = res.headers.getSetCookie();
    if (cookies.length > 1) throw new Error(`expected at most one Set-Cookie, got ${cookies.length}`);
    const setCookie = cookies[0];
    if (setCookie !== undefined) {
      const [pair] = setCookie.split(';');
      this.cookie = /;\s*Max-Age=0/i.test(setCookie) ? undefined : pair;
    }
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
    return { status: res.status, headers: res.headers as Headers, setCookie, text, body: json && text !== '' ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  /** Signs in through the app's `POST /login` as `user`. */
  signIn(user: string, options: CallOptions = {}): Promise<Answer> {
    return this.call('/login', { ...options, headers: { 'x-user': user, ...options.headers } });
  }
}

/** The attributes of a Set-Cookie value, lower-cased names; `name` and `value` for the pair. */
export function cookieAttributes(setCookie: string): Record<string, string | true> {
  const [pair, ...attributes] = setCookie.split(';').map((part) => part.trim());
  const eq = pair!.indexOf('=');
  const out: Record<string, string | true> = { name: pair!.slice(0, eq), value: pair!.slice(eq + 1) };
  for (const attribute of attributes) {
    const i = attribute.indexOf('=');
    if (i < 0) out[attribute.toLowerCase()] = true;
    else out[attribute.slice(0, i).toLowerCase()] = attribute.slice(i + 1);
  }
  return out;
}

/** A request with raw header pairs, so a test can send the same header twice (fetch would merge them). */
export function rawRequest(url: string, method: string, headers: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: ['Host', new URL(url).host, ...headers] }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

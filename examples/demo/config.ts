// Everything the demo can be configured with, from startDemo() options or the environment.
import type { OidcSettings } from './oidc.js';

/** Dev default so that two local nodes agree without any set-up. Never use it in production. */
export const DEV_SECRET = 'jwt-session-demo-dev-secret-change-me-0123456789';

export interface DemoOptions {
  /** 0 picks a free port. @default 3000 */
  port?: number;
  /** @default '127.0.0.1' when not set via HOST */
  host?: string;
  /** With it: Redis store + Redis broadcaster + @socket.io/redis-adapter (one node of a cluster). */
  redisUrl?: string | undefined;
  /** With it: PostgreSQL store + LISTEN/NOTIFY broadcaster + @socket.io/postgres-adapter, migrated at start (one node of a cluster). */
  databaseUrl?: string | undefined;
  /** HS256 secret shared by every node, at least 32 bytes. @default DEMO_SECRET or a fixed dev value */
  secret?: string;
  /** Seconds. @default 60, so that the silent refresh is visible */
  accessTokenTtl?: number;
  /** Seconds a spent refresh token is still honoured (tabs racing). @default 0: @jwt-session/client never races */
  refreshTokenReuseInterval?: number;
  /** Trust X-Forwarded-For for the client address. @default false */
  trustProxy?: boolean;
  /** Seconds: changing the e-mail address needs an authentication at most this old, else the password again. @default FRESH_MAX_AGE or 300 */
  freshMaxAge?: number;
  /** Extra origins allowed to call the API (besides the server's own), e.g. a proxy's public URL. */
  allowedOrigins?: string[];
  /** Log requests and events to stdout. @default true */
  log?: boolean;
  /** Serve the library's OpenTelemetry metrics at GET /metrics (Prometheus text). @default METRICS=1 */
  metrics?: boolean;
  /**
   * Sign-in at an OpenID provider (oidc.ts): its issuer and this demo's client there.
   * @default OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET when all three are set; off otherwise
   */
  oidc?: OidcSettings | undefined;
}

export interface DemoConfig {
  port: number;
  host: string;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  secret: string;
  usingDevSecret: boolean;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshTokenIdleTtl: number;
  refreshTokenReuseInterval: number;
  trustProxy: boolean;
  freshMaxAge: number;
  allowedOrigins: ReadonlySet<string>;
  log: boolean;
  metrics: boolean;
  oidc: OidcSettings | undefined;
}

/** The OIDC_* variables: all three, or none (a half-configured provider is a mistake worth stopping for). */
function oidcFromEnv(env: NodeJS.ProcessEnv): OidcSettings | undefined {
  const values = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET].map((v) => (v === undefined || v === '' ? undefined : v));
  if (values.every((v) => v === undefined)) return undefined;
  const [issuer, clientId, clientSecret] = values;
  if (issuer === undefined || clientId === undefined || clientSecret === undefined) throw new Error('Set all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or none');
  return { issuer, clientId, clientSecret };
}

function checkOidc(oidc: OidcSettings | undefined): OidcSettings | undefined {
  if (oidc === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(oidc.issuer);
  } catch {
    throw new Error('OIDC_ISSUER must be a URL, e.g. https://keycloak.example/realms/demo');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw new Error('OIDC_ISSUER must be https (http only for a provider on this machine)');
  }
  return oidc;
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

export function resolveConfig(options: DemoOptions = {}, env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const secret = options.secret ?? env.DEMO_SECRET ?? DEV_SECRET;
  if (Buffer.byteLength(secret) < 32) throw new Error('DEMO_SECRET must be at least 32 bytes');
  const origins = options.allowedOrigins ?? (env.DEMO_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    port: options.port ?? positiveInt(env.PORT, 'PORT') ?? 3000,
    host: options.host ?? env.HOST ?? '127.0.0.1',
    redisUrl: options.redisUrl ?? (env.REDIS_URL || undefined),
    databaseUrl: options.databaseUrl ?? (env.DATABASE_URL || undefined),
    secret,
    usingDevSecret: secret === DEV_SECRET,
    accessTokenTtl: options.accessTokenTtl ?? positiveInt(env.ACCESS_TOKEN_TTL, 'ACCESS_TOKEN_TTL') ?? 60,
    refreshTokenTtl: 7 * 24 * 3600,
    refreshTokenIdleTtl: 24 * 3600,
    refreshTokenReuseInterval: options.refreshTokenReuseInterval ?? positiveInt(env.REFRESH_REUSE_INTERVAL, 'REFRESH_REUSE_INTERVAL') ?? 0,
    trustProxy: options.trustProxy ?? env.TRUST_PROXY === '1',
    freshMaxAge: options.freshMaxAge ?? positiveInt(env.FRESH_MAX_AGE, 'FRESH_MAX_AGE') ?? 300,
    allowedOrigins: new Set(origins),
    log: options.log ?? true,
    metrics: options.metrics ?? process.env.METRICS === '1',
    oidc: checkOidc('oidc' in options ? options.oidc : oidcFromEnv(env)),
  };
}

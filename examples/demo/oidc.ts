// Sign-in at an OpenID provider (Keycloak, or `pnpm demo:idp`'s local
// oidc-provider), with panva's openid-client doing the relying party's part
// (discovery, PKCE, state, nonce, the code grant, the ID token's checks):
//   POST /auth/oidc/login            → 200 { url }: the provider's authorization URL
//   GET  /auth/oidc/callback         → the linked session, its refresh cookie, 303 to /
//   POST /auth/oidc/backchannel-logout  the provider's logout tokens (@jwt-session/http)
//   POST /auth/oidc/security-events     its Shared Signals SETs (@jwt-session/http)
//   GET  /auth/oidc                  → 200 { issuer } (the page shows the button)
// What the login started travels in a sealed cookie (AES-256-GCM under the
// demo's secret): every node can finish it, and nothing is kept server-side.
import { backchannelLogout, securityEvents, type SessionRouter } from '@jwt-session/http';
import { checkDpopReplay, dpopRequestUrl, isSessionError, singleDpopHeader, verifyDpopProof, type DpopReplayCache, type JwtUserSessionManager } from '@jwt-session/session-core';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';

export interface OidcSettings {
  /** The provider's issuer identifier, e.g. https://keycloak.example/realms/demo */
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface OidcDeps {
  settings: OidcSettings;
  manager: JwtUserSessionManager;
  sessions: SessionRouter;
  replayCache: DpopReplayCache;
  /** The demo's signing secret: the login cookie's key is derived from it, so every node can open it. */
  secret: string;
  /** This node's public origin, e.g. http://127.0.0.1:3000: the callback is `${origin}/auth/oidc/callback`. */
  origin: string;
  /** The per-node cookie name of the session endpoints; the login cookies are named after it. */
  cookieName: string;
  trustProxy: boolean;
  log(line: string): void;
}

export interface OidcRoutes {
  /** Handles `/auth/oidc/…`; anything else under it goes on to `next`. */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void>;
}

export const OIDC_BASE = '/auth/oidc';
const LOGIN_TTL_SECONDS = 600;
/** Logins of one browser pending at once; beyond it the oldest are dropped, so the cookies stay small. */
const MAX_PENDING_LOGINS = 3;
const SCOPE = 'openid profile';
/** A state as openid-client's randomState() makes it (base64url): anything else names no login cookie of ours. */
const STATE = /^[A-Za-z0-9_-]{16,128}$/;

/** What the callback needs from the login that began it. */
interface PendingLogin {
  state: string;
  verifier: string;
  nonce: string;
  /** The key the login request proved (RFC 9449): the session is bound to it. */
  jkt?: string;
  /** Unix seconds after which the login is void. */
  exp: number;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...(cookie === undefined ? {} : { 'set-cookie': cookie }) });
  res.end();
}

function cookies(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.push([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
  }
  return out;
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  return cookies(req).find(([key]) => key === name)?.[1];
}

/** AES-256-GCM under a key derived from the demo secret: the cookie can be neither read nor forged in the browser. */
function sealer(secret: string): { seal(value: PendingLogin): string; open(text: string): PendingLogin | undefined } {
  const key = createHash('sha256').update(`jwt-session-demo oidc login cookie\0${secret}`).digest();
  return {
    seal(value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(text) {
      try {
        const raw = Buffer.from(text, 'base64url');
        if (raw.length < 29 || raw.length > 2048) return undefined;
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const value = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as PendingLogin;
        return typeof value.state === 'string' && typeof value.verifier === 'string' && typeof value.nonce === 'string' && typeof value.exp === 'number' ? value : undefined;
      } catch {
        return undefined; // not ours, tampered with, or sealed under another secret
      }
    },
  };
}

/** The provider's metadata, fetched at the first login and kept; a failed discovery is tried again next time. */
function discoverer(settings: OidcSettings): () => Promise<client.Configuration> {
  let found: Promise<client.Configuration> | undefined;
  // http:// only for a provider on this machine (`pnpm demo:idp`); anything else must be https.
  const local = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(settings.issuer);
  return () => {
    found ??= client
      .discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, undefined, local ? { execute: [client.allowInsecureRequests] } : {})
      .catch((error: unknown) => {
        found = undefined;
        throw error;
      });
    return found;
  };
}

export function oidcRoutes(deps: OidcDeps): OidcRoutes {
  const { settings, log } = deps;
  const discover = discoverer(settings);
  const sealed = sealer(deps.secret);
  const redirectUri = `${deps.origin}${OIDC_BASE}/callback`;
  const secure = deps.origin.startsWith('https:');
  // One cookie per login (its state in the name): two tabs signing in at once do not spoil each other's.
  const cookieName = (state: string) => `${deps.cookieName}-oidc-${state}`;
  // Path: the login (which counts them) and the callback (which reads one). Lax: sent on the provider's top-level redirect back.
  const cookie = (state: string, value: string, maxAge: number) =>
    `${cookieName(state)}=${value}; Path=${OIDC_BASE}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  /** Set-Cookie lines that drop this browser's oldest pending logins, leaving room for one more. */
  const dropOldest = (req: IncomingMessage): string[] => {
    const prefix = `${deps.cookieName}-oidc-`;
    const pending = cookies(req)
      .filter(([name]) => name.startsWith(prefix) && STATE.test(name.slice(prefix.length)))
      .map(([name, value]) => ({ state: name.slice(prefix.length), exp: sealed.open(value)?.exp ?? 0 }))
      .sort((a, b) => a.exp - b.exp);
    return pending.slice(0, Math.max(0, pending.length - (MAX_PENDING_LOGINS - 1))).map(({ state }) => cookie(state, '', 0));
  };
  const refused = (what: string) => (error: { code: string; reason?: string }) => log(`${what} refused: ${error.code}${error.reason === undefined ? '' : ` (${error.reason})`}`);
  // A logout token's and a SET's iss is the provider's issuer, their aud this client. http:// passed
  // config.ts only for a provider on this machine, whose keys are then fetched over http too.
  const insecure = settings.issuer.startsWith('http:');
  const logout = backchannelLogout(deps.manager, {
    path: `${OIDC_BASE}/backchannel-logout`,
    verifier: { providers: [{ issuer: settings.issuer, clientId: settings.clientId }], replayCache: deps.replayCache, allowInsecureUrls: insecure },
    onRefused: refused('back-channel logout'),
  });
  const events = securityEvents(deps.manager, {
    path: `${OIDC_BASE}/security-events`,
    receiver: { transmitters: [{ issuer: settings.issuer, audience: settings.clientId }], replayCache: deps.replayCache, allowInsecureUrls: insecure },
    onRefused: refused('security event'),
  });

  /** The thumbprint of the login request's DPoP proof (checked, never seen before), or undefined without one. */
  async function proofKey(req: IncomingMessage): Promise<string | undefined> {
    const header = singleDpopHeader(req.headers.dpop);
    if (header === undefined) return undefined;
    const url = dpopRequestUrl(undefined, { headers: req.headers, encrypted: 'encrypted' in req.socket && req.socket.encrypted === true }, `${OIDC_BASE}/login`, deps.trustProxy);
    const proof = verifyDpopProof(header, { method: 'POST', url });
    await checkDpopReplay(deps.replayCache, proof);
    return proof.jkt;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The demo's CSRF rule: a cross-site form cannot start a login in the user's name.
    if (req.headers['x-jwt-session'] !== '1') return sendJson(res, 403, { error: 'ERR_CSRF', message: 'This request was refused: it did not come from the demo page.' });
    let jkt: string | undefined;
    try {
      jkt = await proofKey(req);
    } catch (error) {
      if (isSessionError(error, 'ERR_STORAGE_UNAVAILABLE')) return sendJson(res, 503, { error: 'ERR_STORAGE_UNAVAILABLE', message: 'Try again in a moment.' });
      refused('login proof')(error as { code: string; reason?: string });
      return sendJson(res, 401, { error: 'ERR_DPOP_PROOF_INVALID', message: 'The DPoP proof was refused.' }, { 'www-authenticate': 'DPoP error="invalid_dpop_proof", algs="ES256"' });
    }
    let config: client.Configuration;
    try {
      config = await discover();
    } catch (error) {
      log(`provider discovery failed: ${error instanceof Error ? error.message : typeof error}`);
      return sendJson(res, 503, { error: 'ERR_PROVIDER_UNAVAILABLE', message: 'The identity provider cannot be reached. Try again in a moment.' });
    }
    const pending: PendingLogin = {
      state: client.randomState(),
      verifier: client.randomPKCECodeVerifier(),
      nonce: client.randomNonce(),
      ...(jkt === undefined ? {} : { jkt }),
      exp: Math.floor(Date.now() / 1000) + LOGIN_TTL_SECONDS,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    res.setHeader('set-cookie', [...dropOldest(req), cookie(pending.state, sealed.seal(pending), LOGIN_TTL_SECONDS)]);
    sendJson(res, 200, { url: url.href });
  }

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const current = new URL(req.url ?? '/', redirectUri);
    const state = current.searchParams.get('state') ?? '';
    const sealedLogin = STATE.test(state) ? readCookie(req, cookieName(state)) : undefined;
    const pending = sealedLogin === undefined ? undefined : sealed.open(sealedLogin);
    const failed = (why: string): void => {
      log(`provider sign-in failed: ${why}`);
      redirect(res, '/?signin=failed', pending === undefined ? undefined : cookie(state, '', 0));
    };
    if (pending === undefined || pending.state !== state) return failed('no login of this browser has that state');
    if (pending.exp < Date.now() / 1000) return failed('the login expired');
    let claims: client.IDToken;
    try {
      const config = await discover();
      // openid-client checks the state, redeems the code with the verifier (PKCE), and checks the ID token: signature, iss, aud, exp, nonce.
      const grant = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      claims = grant.claims()!;
    } catch (error) {
      return failed(error instanceof Error ? `${error.name}: ${(error as { code?: string }).code ?? error.message}` : typeof error);
    }
    // Without a provider session id, a back-channel logout could only end every session of the user; most providers send it.
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const name = [claims.name, claims.preferred_username, claims.sub].find((v): v is string => typeof v === 'string' && v !== '')!;
    res.setHeader('set-cookie', cookie(state, '', 0));
    // The local account is the provider's user, namespaced: a provider's `sub` never collides with a demo user's id.
    const body = await deps.sessions.issueSession(req, res, `oidc:${claims.sub}`, {
      csrf: false, // the state, PKCE and the nonce do that job here
      redirect: '/',
      claims: { name: name.slice(0, 100) },
      upstream: { issuer: claims.iss, subject: claims.sub, ...(sid === undefined ? {} : { sessionId: sid }) },
      ...(pending.jkt === undefined ? {} : { dpop: { jkt: pending.jkt } }),
    });
    if (body !== undefined) log(`provider sign-in sub=${claims.sub} session=${body.sessionId}${pending.jkt === undefined ? '' : ' (DPoP-bound)'}`);
  }

  return {
    async handle(req, res, next) {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
      if (method === 'GET' && path === OIDC_BASE) return sendJson(res, 200, { issuer: settings.issuer });
      if (method === 'POST' && path === `${OIDC_BASE}/login`) return login(req, res);
      if (method === 'GET' && path === `${OIDC_BASE}/callback`) return callback(req, res);
      // The two receivers answer their own path and pass everything else on.
      logout(req, res, (error?: unknown) => {
        if (error !== undefined) return void sendJson(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong on the server.' });
        events(req, res, (err?: unknown) => (err !== undefined ? sendJson(res, 500, { error: 'ERR_INTERNAL', message: 'Something went wrong on the server.' }) : next()));
      });
    },
  };
}

// `pnpm demo:idp`: a local OpenID provider (panva's oidc-provider) wired to
// the demo, so that "Sign in with your provider" and a logout there can be
// tried without a Keycloak. It registers the demo as its one client (the
// callback of each demo node, the back-channel logout URL of the first), knows
// the demo's users with their passwords (alice / wonderland, …), and prints
// the lines that start the demo against it.
//   IDP_PORT=4000                  where the provider listens (default 4000)
//   DEMO_URLS=http://127.0.0.1:3000  the demo node(s), comma-separated (default http://127.0.0.1:3000)
import { createPrivateKey, generateKeyPairSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { OIDC_BASE } from './oidc.js';
import { DEMO_USERS } from './users.js';

export interface DemoIdpOptions {
  /** 0 picks a free port. @default 4000 */
  port?: number;
  /** The demo node(s) the provider sends users back to; the first receives the back-channel logouts. */
  demoUrls: string[];
  /** @default 'jwt-session-demo' */
  clientId?: string;
  /** @default a random one, printed */
  clientSecret?: string;
  /** Told of each back-channel logout the provider delivered, or failed to. */
  log?: (line: string) => void;
}

export interface DemoIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Back-channel logout POSTs the provider made, by their answer. */
  deliveries: { ok: number; failed: number };
  close(): Promise<void>;
}

/** An RSA key made as DER and imported again: Node 20's JWK export of a freshly generated KeyObject can deadlock. */
function rsaKey(): KeyObject {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { format: 'der', type: 'pkcs8' }, publicKeyEncoding: { format: 'der', type: 'spki' } });
  return createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#f3f1ec;display:grid;place-items:center;min-height:90vh}main{background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:18rem}label{display:block;margin:.6rem 0}input{display:block;width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:.8rem;padding:.5rem 1rem}.error{color:#b00020}small{color:#666}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 8192) break; // a login form is small; the rest is not read
  }
  return new URLSearchParams(text);
}

/** The demo's users and passwords (users.ts), compared in constant time: a provider's own user store, in miniature. */
function checkPassword(login: string, password: string): string | undefined {
  const user = DEMO_USERS.find((u) => u.id === login.trim().toLowerCase());
  const expected = Buffer.from(user?.password ?? 'no such user, no such password');
  const given = Buffer.from(password);
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  return user !== undefined && same ? user.id : undefined;
}

function loginForm(uid: string, error?: string): string {
  return page(
    'Sign in at the provider',
    `<p><small>The demo's local OpenID provider. Users: ${DEMO_USERS.map((u) => `<code>${escapeHtml(u.id)}</code> / <code>${escapeHtml(u.password)}</code>`).join(', ')}</small></p>
${error === undefined ? '' : `<p class="error">${escapeHtml(error)}</p>`}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>User name <input name="login" required autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit" id="idp-sign-in">Sign in</button>
</form>`,
  );
}

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const clientId = options.clientId ?? 'jwt-session-demo';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const demoUrls = options.demoUrls.map((url) => url.replace(/\/$/, ''));
  if (demoUrls.length === 0) throw new Error('at least one demo URL is needed');
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4000, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key = rsaKey();
  const deliveries = { ok: 0, failed: 0 };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: demoUrls.map((url) => `${url}${OIDC_BASE}/callback`),
        post_logout_redirect_uris: demoUrls.map((url) => `${url}/`),
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // One node is enough: a logout there reaches every node through the demo's broadcaster.
        backchannel_logout_uri: `${demoUrls[0]}${OIDC_BASE}/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [{ ...key.export({ format: 'jwk' }), kid: 'demo-idp-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Seconds; set so that oidc-provider does not warn about its defaults at every start.
    ttl: { Interaction: 600, Session: 14 * 24 * 3600, Grant: 14 * 24 * 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    // The name in the ID token itself: the demo reads it there, it does not call userinfo.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The default pages load a web font from Google: these are self-contained.
        logoutSource: async (ctx: { body: string }, form: string) => {
          ctx.body = page(
            'Sign out at the provider?',
            `${form}<p>Every application you signed in to through this provider is told (back-channel logout).</p>
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout" id="idp-sign-out">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx: { body: string }) => {
          ctx.body = page('Signed out at the provider', '<p>You are signed out here, and the demo was told.</p>');
        },
      },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // A first-party client: no consent screen. The grant is made once per provider session (oidc-provider's recipe).
    loadExistingGrant: async (ctx: GrantContext) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId !== undefined) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid profile');
      await grant.save();
      ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId, grant.jti);
      return grant;
    },
    findAccount: async (_ctx: unknown, id: string) => {
      const user = DEMO_USERS.find((u) => u.id === id);
      return user === undefined ? undefined : { accountId: user.id, claims: async () => ({ sub: user.id, name: user.name, preferred_username: user.id }) };
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page('Something went wrong', `<p>${escapeHtml(out.error ?? 'error')}: ${escapeHtml(out.error_description ?? '')}</p>`);
    },
    // oidc-provider refuses calls to loopback and private addresses (its SSRF guard, an undici dispatcher):
    // the demo is on loopback, so the back-channel logout POST goes through plain fetch.
    fetch: (url: URL | string, init: Record<string, unknown>) => {
      delete init.dispatcher;
      return globalThis.fetch(url, init as RequestInit);
    },
  });
  provider.on('backchannel.success', () => {
    deliveries.ok++;
    options.log?.('back-channel logout delivered to the demo');
  });
  provider.on('backchannel.error', () => {
    deliveries.failed++;
    options.log?.('back-channel logout to the demo FAILED: is the demo running with the OIDC_* values above?');
  });
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return html(res, 400, page('Sign-in expired', '<p>Start again from the demo.</p>'));
    if (details.prompt.name !== 'login') {
      // Consent is granted by loadExistingGrant; any other prompt is finished as is.
      return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    }
    if (req.method === 'GET' && action === undefined) return html(res, 200, loginForm(uid));
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const accountId = checkPassword(form.get('login') ?? '', form.get('password') ?? '');
      if (accountId === undefined) return html(res, 401, loginForm(uid, 'Wrong user name or password.'));
      return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    }
    html(res, 404, page('Not found', ''));
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(new URL(req.url ?? '/', issuer).pathname);
    if (match === null) return callback(req, res);
    interaction(req, res, match[1]!, match[2]).catch((error: unknown) => {
      if (!res.headersSent) html(res, 400, page('Sign-in expired', `<p>Start again from the demo. <small>(${escapeHtml(error instanceof Error ? error.name : 'error')})</small></p>`));
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    deliveries,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface GrantLike {
  jti: string;
  addOIDCScope(scope: string): void;
  save(): Promise<unknown>;
}

interface GrantContext {
  oidc: {
    result?: { consent?: { grantId?: string } };
    session?: { accountId?: string; grantIdFor(clientId: string, value?: string): string | undefined };
    client?: { clientId: string };
    provider: { Grant: { new (init: { clientId: string; accountId: string }): GrantLike; find(id: string): Promise<GrantLike | undefined> } };
  };
}

// Run as a script: start it and print how to start the demo against it.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.IDP_PORT ?? 4000);
  const demoUrls = (process.env.DEMO_URLS ?? 'http://127.0.0.1:3000').split(',').map((s) => s.trim()).filter(Boolean);
  try {
    const idp = await startDemoIdp({ port, demoUrls, log: (line) => console.log(line) });
    console.log(`Local OpenID provider (oidc-provider) at ${idp.issuer}, for the demo at ${demoUrls.join(', ')}`);
    console.log(`Users: ${DEMO_USERS.map((u) => `${u.id} / ${u.password}`).join(', ')}`);
    console.log('Start the demo against it, in another terminal:\n');
    console.log(`  OIDC_ISSUER=${idp.issuer} OIDC_CLIENT_ID=${idp.clientId} OIDC_CLIENT_SECRET=${idp.clientSecret} pnpm demo\n`);
    console.log(`Sign out at the provider (it then POSTs the back-channel logout to the demo): ${idp.issuer}/session/end`);
    const stop = (): void => void idp.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(code === 'EADDRINUSE' ? `Port ${port} is taken: set IDP_PORT to another one` : `The provider could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

// Issue 26 §5: a logout that starts at a real OpenID provider (panva's
// oidc-provider, back-channel logout on) ends exactly the linked session on
// both nodes of a two-node Redis deployment: its HTTP requests 401, its
// refresh refused, its live sockets told `session:revoked` and disconnected;
// the user's other provider session (signed in twice) untouched. The relying
// party signs in with panva's openid-client (PKCE, state, nonce).
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backchannelLogout, sessionRouter } from '@jwt-session/http';
import { JwtUserSessionManager, type DpopReplayCache, type InvalidationBroadcaster, type RefreshTokenStore, type SessionTokens } from '@jwt-session/session-core';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { MemoryBroadcaster, MemoryDpopReplayCache, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { RedisDpopReplayCache, RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { startRedis } from '@jwt-session/redis-harness';
import { randomUUID } from 'node:crypto';
import { foreignKey, signInAt, signOutAt, signRs256, startIdp, UserAgent, type LocalIdp } from './support/oidc-idp.js';

const CLIENT_ID = 'demo-app';
const CLIENT_SECRET = 'demo-app-secret-0123456789abcdef';
const LOGOUT_PATH = '/auth/backchannel-logout';

interface RpNode {
  url: string;
  manager: JwtUserSessionManager;
  close(): Promise<void>;
}

/** What one node stores and broadcasts through: its own Redis client, or the process's shared memory parts. */
interface NodeStorage {
  refreshTokenStore: RefreshTokenStore;
  broadcaster: InvalidationBroadcaster;
  replayCache: DpopReplayCache;
  close(): void;
}

type Backend = { name: string; start(): Promise<{ storage: () => NodeStorage; stop(): Promise<void> }> };

const BACKENDS: Backend[] = [
  {
    name: 'two nodes on Redis',
    async start() {
      const server = await startRedis();
      const prefix = `oidc-${process.pid}:`;
      return {
        storage: () => {
          const redis = new Redis(server.url, { lazyConnect: false });
          redis.on('error', () => undefined); // the harness's Redis runs for the whole file; a failure shows in the assertions
          return {
            refreshTokenStore: new RedisRefreshTokenStore(redis, { keyPrefix: prefix }),
            broadcaster: new RedisInvalidationBroadcaster(redis, { keyPrefix: prefix }),
            replayCache: new RedisDpopReplayCache(redis, { keyPrefix: prefix }),
            close: () => redis.disconnect(),
          };
        },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: 'two nodes on memory storage (one process)',
    async start() {
      const store = new MemoryRefreshTokenStore();
      const broadcaster = new MemoryBroadcaster();
      const replayCache = new MemoryDpopReplayCache();
      return {
        storage: () => ({ refreshTokenStore: store, broadcaster, replayCache, close: () => undefined }),
        stop: async () => {
          await store.close();
          replayCache.close();
        },
      };
    },
  },
];

async function startNode(storage: NodeStorage, idpIssuer: string): Promise<RpNode> {
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: 'oidc-logout-test-secret-0123456789abcdef' },
    issuer: 'https://app.test',
    audience: 'https://app.test/api',
    refreshTokenStore: storage.refreshTokenStore,
    invalidAccessTokenCache: cache,
    broadcaster: storage.broadcaster,
    telemetry: false,
  });
  await manager.ready();
  const sessions = sessionRouter(manager);
  const logout = backchannelLogout(manager, {
    path: LOGOUT_PATH,
    verifier: { providers: [{ issuer: idpIssuer, clientId: CLIENT_ID }], replayCache: storage.replayCache, telemetry: false },
  });
  // No framework: the middlewares' (req, res, next) chained by hand, then the app's one API route.
  const app = (req: IncomingMessage, res: ServerResponse) =>
    sessions(req, res, () =>
      logout(req, res, async () => {
        if (req.url !== '/api/me') return void res.writeHead(404).end();
        try {
          const claims = await manager.read(String(req.headers.authorization).replace(/^Bearer /, ''));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: claims.sub, sid: claims.sid }));
        } catch (error) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as { code?: string }).code }));
        }
      }),
    );
  const http: HttpServer = createServer(app);
  const io = new Server(http);
  const guard = attachSessionGuard(io, manager);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    manager,
    close: async () => {
      guard.close();
      io.close();
      http.closeAllConnections();
      await manager.close();
      cache.close();
      storage.close();
    },
  };
}

interface LiveSocket {
  socket: Socket;
  revoked: unknown[];
  disconnected: Promise<string>;
}

function liveSocket(url: string, token: string): Promise<LiveSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(url, { auth: { token }, transports: ['websocket'], reconnection: false });
    const revoked: unknown[] = [];
    socket.on('session:revoked', (payload: unknown) => revoked.push(payload));
    const disconnected = new Promise<string>((done) => socket.on('disconnect', (reason) => done(reason)));
    socket.once('connect', () => resolve({ socket, revoked, disconnected }));
    socket.once('connect_error', reject);
  });
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

interface Ctx {
  backend: Awaited<ReturnType<Backend['start']>>;
  idp: LocalIdp;
  a: RpNode;
  b: RpNode;
  config: client.Configuration;
  redirectUri: string;
}

for (const backend of BACKENDS) {
  const S = suite<Ctx>(`OIDC back-channel logout against oidc-provider, ${backend.name}`);

  S.before(async (ctx) => {
    ctx.backend = await backend.start();
    // The provider must know the RP's URLs and the RP the provider's issuer: the provider listens first (issuer known), then the nodes, then the client is registered.
    ctx.idp = await startIdp();
    ctx.a = await startNode(ctx.backend.storage(), ctx.idp.issuer);
    ctx.b = await startNode(ctx.backend.storage(), ctx.idp.issuer);
    ctx.redirectUri = `${ctx.a.url}/cb`;
    ctx.idp.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: ctx.redirectUri, backchannelLogoutUri: `${ctx.a.url}${LOGOUT_PATH}` });
    ctx.config = await client.discovery(new URL(ctx.idp.issuer), CLIENT_ID, CLIENT_SECRET, undefined, { execute: [client.allowInsecureRequests] });
  });

  S.after(async (ctx) => {
    await ctx.a?.close();
    await ctx.b?.close();
    await ctx.idp?.stop();
    await ctx.backend?.stop();
  });

  /** Signs in at the provider in a fresh browser and opens the linked session on node A, as the app's callback would. */
  async function signIn(ctx: Ctx, ua: UserAgent, login: string): Promise<{ tokens: SessionTokens; idToken: string; sid: string }> {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(ctx.config, {
      redirect_uri: ctx.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
    });
    const callback = await signInAt(ua, url.href, ctx.redirectUri, login);
    const grant = await client.authorizationCodeGrant(ctx.config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    const claims = grant.claims()!;
    assert.type(claims.sid, 'string', 'the ID token carries the provider session id');
    const tokens = await ctx.a.manager.create(`local-${claims.sub}`, { upstream: { issuer: claims.iss, subject: claims.sub, sessionId: claims.sid as string } });
    return { tokens, idToken: grant.id_token!, sid: claims.sid as string };
  }

  async function me(node: RpNode, token: string): Promise<number> {
    return (await fetch(`${node.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status;
  }

  S('signed in twice as one user; ending one provider session ends that session on both nodes, and only that one', async (ctx) => {
    const first = await signIn(ctx, new UserAgent(), 'user-1');
    const firstBrowser = new UserAgent();
    const one = await signIn(ctx, firstBrowser, 'user-1');
    assert.is.not(one.sid, first.sid, 'two provider sessions');
    const readAll = await ctx.b.manager.readAll('local-user-1');
    assert.equal(readAll.map((s) => s.upstream?.issuer), [ctx.idp.issuer, ctx.idp.issuer], 'readAll names the provider');

    const sockets = {
      oneA: await liveSocket(ctx.a.url, one.tokens.accessToken),
      oneB: await liveSocket(ctx.b.url, one.tokens.accessToken),
      otherA: await liveSocket(ctx.a.url, first.tokens.accessToken),
      otherB: await liveSocket(ctx.b.url, first.tokens.accessToken),
    };
    for (const node of [ctx.a, ctx.b]) assert.is(await me(node, one.tokens.accessToken), 200);

    const res = await signOutAt(firstBrowser, ctx.config, one.idToken);
    assert.ok(res.status < 400, `end-session answered ${res.status}`);
    assert.is(ctx.idp.deliveries.ok, 1, 'the provider’s back-channel POST was not answered 200');
    assert.is(ctx.idp.deliveries.failed, 0);

    // The ended session: sockets told and dropped on both nodes, HTTP 401 on both, refresh refused.
    for (const s of [sockets.oneA, sockets.oneB]) {
      await within(s.disconnected, 2000, 'the ended session’s socket');
      assert.ok(s.revoked.length >= 1, 'no session:revoked before the disconnect');
    }
    for (const node of [ctx.a, ctx.b]) assert.is(await me(node, one.tokens.accessToken), 401);
    try {
      await ctx.b.manager.update(one.tokens.refreshToken);
      assert.unreachable('the ended session refreshed');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_REFRESH_TOKEN_INVALID');
    }

    // The other provider session: untouched everywhere.
    for (const node of [ctx.a, ctx.b]) assert.is(await me(node, first.tokens.accessToken), 200);
    assert.ok(sockets.otherA.socket.connected && sockets.otherB.socket.connected, 'the other session’s sockets were dropped');
    assert.equal(sockets.otherA.revoked, []);
    assert.is((await ctx.a.manager.update(first.tokens.refreshToken)).sessionId, first.tokens.sessionId);
    for (const s of Object.values(sockets)) s.socket.disconnect();
  });

  const BCL = 'http://schemas.openid.net/event/backchannel-logout';

  async function postLogout(node: RpNode, body: string): Promise<Response> {
    return fetch(`${node.url}${LOGOUT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  }

  S('hostile logout tokens: each 400 (or 413) with no-store, and nothing is ended on either node', async (ctx) => {
    const signedIn = await signIn(ctx, new UserAgent(), 'user-2');
    const now = Math.floor(Date.now() / 1000);
    const claims = (over: Record<string, unknown> = {}) => {
      const out: Record<string, unknown> = { iss: ctx.idp.issuer, aud: CLIENT_ID, iat: now, jti: randomUUID(), sub: 'user-2', sid: signedIn.sid, events: { [BCL]: {} }, ...over };
      for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
      return out;
    };
    const header = { typ: 'logout+jwt', kid: 'rs-1' };
    const forge = (over: Record<string, unknown> = {}, h: Record<string, unknown> = header) => signRs256(ctx.idp.key, h, claims(over));
    const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const hostile: [string, string][] = [
      ['alg none', `${b64({ alg: 'none', typ: 'logout+jwt' })}.${b64(claims())}.`],
      ['a foreign key under the provider’s kid', signRs256(foreignKey(), header, claims())],
      ['wrong aud', forge({ aud: 'another-client' })],
      ['wrong iss', forge({ iss: 'https://evil.example' })],
      ['a nonce', forge({ nonce: 'n-0S6_WzA2Mj' })],
      ['no events', forge({ events: undefined })],
      ['a wrong event member', forge({ events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': {} } })],
      ['neither sid nor sub', forge({ sid: undefined, sub: undefined })],
      ['expired', forge({ iat: now - 3600, exp: now - 3000 })],
      ['no jti', forge({ jti: undefined })],
      ['the provider’s ID token itself', signedIn.idToken],
      ['garbage', 'not.a.token'],
    ];
    for (const [what, token] of hostile) {
      for (const node of [ctx.a, ctx.b]) {
        const res = await postLogout(node, form(token));
        assert.is(res.status, 400, what);
        assert.is(res.headers.get('cache-control'), 'no-store', what);
        assert.is(await res.text(), '{"error":"invalid_request"}', what);
      }
    }
    // A genuine token (for a provider session with no session here) accepted on A, then replayed to B: refused there.
    const genuine = form(forge({ sid: 'no-such-provider-session' }));
    assert.is((await postLogout(ctx.a, genuine)).status, 200);
    assert.is((await postLogout(ctx.b, genuine)).status, 400, 'a jti replayed to the other node was accepted');
    const oversized = await postLogout(ctx.b, `${form(forge())}&padding=${'x'.repeat(64 * 1024)}`);
    assert.is(oversized.status, 413);
    assert.is(oversized.headers.get('cache-control'), 'no-store');
    for (const node of [ctx.a, ctx.b]) assert.is(await me(node, signedIn.tokens.accessToken), 200, 'a hostile token ended the session');
    assert.is((await ctx.b.manager.update(signedIn.tokens.refreshToken)).sessionId, signedIn.tokens.sessionId);
  });

  S.run();
}

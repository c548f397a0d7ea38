import { JwtSessionVerifier, type AccessTokenClaims, type JwtUserSessionManager, type RevocationEventName, type SessionEventListener, type SessionVerifier } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { createHmac } from 'node:crypto';
import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, socketAuth, type AuthContext, type AuthenticatedRequest, type SessionRevokedPayload } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { Cleanup, connect, makeManager, MemoryBroadcaster, next, refused, startIo } from './support.js';

const S = suite('the guards depend on SessionVerifier, not on the manager class (issue 13)');

/**
 * A verifier that is not a JwtUserSessionManager: it holds one privately and
 * exposes only the interface, as a resource server's verifier would. Anything
 * the guards reached for beyond the interface would be missing here.
 */
class DelegatingVerifier implements SessionVerifier {
  readonly #manager: JwtUserSessionManager;
  reads = 0;
  constructor(manager: JwtUserSessionManager) {
    this.#manager = manager;
  }
  read(accessToken: string): Promise<AccessTokenClaims> {
    this.reads++;
    return this.#manager.read(accessToken);
  }
  isRevoked(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'jti'>): boolean {
    return this.#manager.isRevoked(claims);
  }
  on<E extends RevocationEventName>(event: E, listener: SessionEventListener<E>): this {
    this.#manager.on(event, listener);
    return this;
  }
  off<E extends RevocationEventName>(event: E, listener: SessionEventListener<E>): this {
    this.#manager.off(event, listener);
    return this;
  }
}

// Compile-time: the manager itself satisfies the interface the guards take.
const asVerifier = (manager: JwtUserSessionManager): SessionVerifier => manager;
void asVerifier;

S('Express, Fastify, socketAuth and attachSessionGuard accept a verifier; its revocation events disconnect sockets', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const verifier = new DelegatingVerifier(manager);
    const tokens = await manager.create('alice', { claims: { roles: ['admin'] } });

    const app = express();
    app.get('/me', httpAuth(verifier), (req, res) => res.json({ sub: (req as AuthenticatedRequest).auth?.sub }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    c.add(() => new Promise((resolve) => server.close(resolve)));
    c.add(() => server.closeAllConnections());
    const fastify = Fastify();
    c.add(() => fastify.close());
    await fastify.register(fastifySessionAuth, { manager: verifier });
    fastify.get('/me', async (request) => ({ sub: request.auth?.sub }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    for (const port of [(server.address() as AddressInfo).port, (fastify.server.address() as AddressInfo).port]) {
      const res = await fetch(`http://127.0.0.1:${port}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
      assert.equal([res.status, await res.json()], [200, { sub: 'alice' }]);
    }

    const plain = await startIo(c, undefined, { guard: false });
    plain.io.use(socketAuth(verifier));
    assert.ok((await connect(c, plain.url, { auth: { token: tokens.accessToken } })).connected);

    const guarded = await startIo(c, verifier);
    const socket = await connect(c, guarded.url, { auth: { token: tokens.accessToken } });
    assert.ok(verifier.reads >= 4, 'every path verified through the verifier');
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    await manager.deleteOne('alice', tokens.sessionId);
    assert.equal(await revoked, { code: 'ERR_SESSION_REVOKED', reason: 'deleted' });
    const refusal = await refused(c, guarded.url, { auth: { token: tokens.accessToken } });
    assert.is(refusal.data?.code, 'ERR_SESSION_REVOKED');
  } finally {
    await c.run();
  }
});

S('JwtSessionVerifier (resource server) with another provider\'s tokens (no sid, no jti): guarded by subject, no shared session room', async () => {
  // Guards: a token without sid made sessionId undefined at run time, so every such socket joined one room "session:undefined".
  const c = new Cleanup();
  try {
    const broadcaster = new MemoryBroadcaster();
    const issuer = makeManager(c, { broadcaster });
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const secret = 'a-provider-secret-of-at-least-32-bytes';
    const verifier = new JwtSessionVerifier({
      keys: { kid: 'p1', algorithm: 'HS256', secret },
      issuer: 'https://idp.test',
      audience: 'https://api.test',
      tokens: 'oidc',
      acceptedTypes: ['JWT'],
      invalidAccessTokenCache: cache,
      broadcaster,
    });
    c.add(() => verifier.close());
    await verifier.ready();
    // Compile-time: the resource-server verifier is a SessionVerifier.
    const asInterface: SessionVerifier = verifier;
    void asInterface;
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const sign = (claims: Record<string, unknown>): string => {
      const input = `${b64({ alg: 'HS256', kid: 'p1', typ: 'JWT' })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const token = sign({ iss: 'https://idp.test', aud: 'https://api.test', sub: 'alice', iat: now - 5, exp: now + 600, email: 'alice@idp.test' });
    const { io, url } = await startIo(c, verifier);
    const arrived = new Promise<import('socket.io').Socket>((resolve) => io.once('connection', resolve));
    const socket = await connect(c, url, { auth: { token } });
    const server = await arrived;
    assert.is((server.data.auth as AuthContext).sessionId, '');
    assert.equal([...server.rooms].filter((room) => room !== server.id), ['user:alice'], 'no session room');
    // The issuer signs alice out everywhere; the broadcast reaches the resource server, which drops the socket.
    const revoked = next<SessionRevokedPayload>(socket, 'session:revoked');
    await issuer.deleteAll('alice');
    assert.equal(await revoked, { code: 'ERR_SESSION_REVOKED', reason: 'all' });
    assert.is((await refused(c, url, { auth: { token } })).data?.code, 'ERR_SESSION_REVOKED');
  } finally {
    await c.run();
  }
});

S.run();

import type { AccessTokenClaims, JwtUserSessionManager, RevocationEventName, SessionEventListener, SessionVerifier } from '@jwt-session/session-core';
import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, socketAuth, type AuthenticatedRequest, type SessionRevokedPayload } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { Cleanup, connect, makeManager, next, refused, startIo } from './support.js';

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

S.run();

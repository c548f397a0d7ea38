import { JwtSessionVerifier } from '@jwt-session/session-core';
import { attachSessionGuard, httpAuth } from '@jwt-session/socketio-adapter';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { RedisInvalidationBroadcaster } from '@jwt-session/storage-redis';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backend, closeAll, connectSocket, later, next, uniquePrefix } from './node.js';
import { cli, json } from './support.js';

/*
 * The external-provider case end to end: a local HTTP server plays an
 * OpenID Connect provider (its own JWKS, RS256), a resource server guards
 * Socket.IO and HTTP with a JwtSessionVerifier (tokens: 'oidc') on the Redis
 * broadcaster, and the operator revokes the provider's user with the CLI.
 * The provider's tokens have typ JWT and no sid: revocation is by subject.
 */
const S = suite('a provider\'s tokens, revoked by subject from the CLI');

S.after(closeAll);

S('jwt-session sessions revoke <subject> --all drops the socket of a provider-issued token and refuses it over HTTP', async () => {
  const b = await backend('standalone');
  const prefix = uniquePrefix();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'provider-1', alg: 'RS256' };
  const provider = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  later(() => new Promise<void>((resolve) => provider.close(() => resolve())));
  const issuer = 'https://sso.test/realms/main';
  const sign = async (sub: string, iat: number) =>
    new SignJWT({ iss: issuer, aud: 'account-api', sub, iat, exp: iat + 300, jti: crypto.randomUUID(), email: `${sub}@example.com` })
      .setProtectedHeader({ alg: 'RS256', kid: 'provider-1', typ: 'JWT' })
      .sign(privateKey);

  const broadcaster = new RedisInvalidationBroadcaster(b.client, { keyPrefix: prefix });
  const cache = new MemoryInvalidAccessTokenCache();
  const verifier = new JwtSessionVerifier({
    jwksUrl: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/jwks`,
    issuer,
    audience: 'account-api',
    tokens: 'oidc',
    acceptedTypes: ['JWT'], // the provider types its access tokens JWT, as Keycloak does
    invalidAccessTokenCache: cache,
    broadcaster,
  });
  later(async () => {
    await verifier.close();
    await broadcaster.close();
    cache.close();
  });
  await verifier.ready();
  const http = createServer((req, res) => {
    httpAuth(verifier)(req as never, res as never, (error?: unknown) => {
      if (error) return;
      res.writeHead(200).end('ok');
    });
  });
  const io = new Server(http);
  const guard = attachSessionGuard(io, verifier);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  later(async () => {
    guard.close();
    io.disconnectSockets(true);
    http.closeAllConnections();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const status = async (token: string) => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status;

  const now = Math.floor(Date.now() / 1000);
  const token = await sign('user-7', now - 10);
  const bystander = await sign('user-8', now - 10);
  assert.is(await status(token), 200);
  const socket = await connectSocket(url, token);
  const other = await connectSocket(url, bystander);
  const revoked = next<{ reason: string; code: string }>(socket, 'session:revoked');
  const dropped = next(socket, 'disconnect');

  const result = await cli(['sessions', 'revoke', 'user-7', '--all', ...b.flags, '--prefix', prefix, '--json']);
  assert.is(result.code, 0, result.stderr);
  assert.is(json(result).deleted, 0, "the provider's user has no session in our store");
  assert.is((await revoked).code, 'ERR_SESSION_REVOKED');
  await dropped;
  assert.is(await status(token), 401);
  assert.ok(other.connected);
  assert.is(await status(bystander), 200);
  // A token the provider issues after the revocation (a later second) is accepted again.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.is(await status(await sign('user-7', Math.floor(Date.now() / 1000))), 200);
});

S.run();

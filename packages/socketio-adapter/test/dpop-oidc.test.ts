import { JwtSessionVerifier } from '@jwt-session/session-core';
import { MemoryDpopReplayCache, MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth } from '../src/index.js';
import { OidcProvider } from '../../session-core/test/oidc-provider.js';
import { panvaKey, panvaProof } from './dpop-support.js';
import { Cleanup, connect, refused, startIo } from './support.js';

/*
 * A resource server (JwtSessionVerifier, `tokens: 'oidc'`) behind the guards
 * accepts DPoP-bound access tokens of an external OpenID Connect provider
 * (RFC 9449 §6.1: `cnf.jkt`), signed by the provider's own keys from its JWKS
 * endpoint, with proofs made by panva's `dpop` package, and refuses them
 * without their proof.
 */

const S = suite('DPoP-bound tokens of an external OpenID Connect provider');

S('HTTP and Socket.IO guards on a JwtSessionVerifier accept the provider’s bound tokens with their proof, refuse them without', async () => {
  const c = new Cleanup();
  try {
    const provider = await OidcProvider.start(['ES256']);
    c.add(() => provider.stop());
    const cache = new MemoryInvalidAccessTokenCache();
    c.add(() => cache.close());
    const verifier = new JwtSessionVerifier({ jwksUrl: provider.jwksUrl, issuer: provider.issuer, audience: 'account-api', tokens: 'oidc', acceptedTypes: ['JWT', 'at+jwt'], invalidAccessTokenCache: cache });
    c.add(() => verifier.close());
    await verifier.ready();
    const replayCache = new MemoryDpopReplayCache();
    c.add(() => replayCache.close());
    const dpop = { replayCache };

    const app = express();
    app.get('/api/me', httpAuth(verifier, { dpop }), (req, res) => res.json({ sub: req.auth?.sub, sessionId: req.auth?.sessionId }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    c.add(() => new Promise((resolve) => server.close(resolve)));
    c.add(() => server.closeAllConnections());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/me`;

    const key = await panvaKey();
    const token = await provider.sign({ cnf: { jkt: key.jkt } }, { typ: 'at+jwt' });
    const ok = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await panvaProof(key, url, 'GET', token) } });
    assert.is(ok.status, 200);
    assert.equal(await ok.json(), { sub: 'user-1', sessionId: '' });
    const bearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.is(bearer.status, 401);
    assert.is(bearer.headers.get('www-authenticate'), 'DPoP error="invalid_dpop_proof", algs="ES256"');
    const otherKey = await panvaKey();
    const wrong = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: await panvaProof(otherKey, url, 'GET', token) } });
    assert.equal(await wrong.json(), { error: 'ERR_DPOP_BINDING_MISMATCH', message: 'the DPoP proof was not made with the key the token is bound to' });
    // A cnf the library cannot check (RFC 8705's certificate binding) is refused, never taken as a bearer token.
    const mtls = await provider.sign({ cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } });
    assert.is((await fetch(url, { headers: { authorization: `Bearer ${mtls}` } })).status, 401);

    const io = await startIo(c, verifier, { guard: { dpop } });
    const socket = await connect(c, io.url, { auth: { token, dpop: await panvaProof(key, `${io.url}/socket.io/`, 'GET', token) } });
    assert.ok(socket.connected);
    const error = await refused(c, io.url, { auth: { token } });
    assert.is(error.data?.code, 'ERR_DPOP_BINDING_MISMATCH');
  } finally {
    await c.run();
  }
});

S.run();

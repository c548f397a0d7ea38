import { SESSION_ERROR_CODES, SessionError } from '@jwt-session/session-core';
import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ADAPTER_ERROR_CODES, AuthError, httpAuth, toAuthError } from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { messageOf } from '../src/errors.js';
import { Cleanup, makeManager, refused, startIo } from './support.js';

const S = suite('error messages are fixed per code (issue 10 defect 9)');

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const INJECTED = 'evil\r\nX-Injected: yes INJECTED';
/** jose checks `crit` before the signature and quotes the unknown name in its message. */
const hostile = `${b64({ alg: 'HS256', kid: 'k1', typ: 'at+jwt', crit: [INJECTED], [INJECTED]: 1 })}.${b64({ sub: 'x' })}.${Buffer.alloc(32).toString('base64url')}`;

S('every code has its own fixed message, and an error of session-core loses its message on the way', () => {
  // Guards: toAuthError passed session-core's message on, which passed jose's on, which quotes attacker text.
  for (const code of [...ADAPTER_ERROR_CODES, ...SESSION_ERROR_CODES]) {
    const error = new AuthError(code);
    assert.is(error.message, messageOf(code));
    assert.ok(/^[ -~]+$/.test(error.message), `${code}: printable ASCII only`);
    const wrapped = toAuthError(new SessionError(code === 'ERR_INTERNAL' ? 'ERR_CLAIMS_INVALID' : (code as never), `x ${INJECTED}`));
    assert.not.ok(wrapped.message.includes('INJECTED'), code);
  }
  assert.is(toAuthError(new Error(INJECTED)).message, messageOf('ERR_INTERNAL'));
  assert.is(AuthError.config('httpAuth', 'manager', 'a session verifier').message, 'httpAuth: manager must be a session verifier');
});

S('a token whose crit header carries newlines: HTTP body, WWW-Authenticate and the socket refusal hold only the fixed message', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const app = express();
    app.get('/me', httpAuth(manager), (_req, res) => res.end('ok'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    c.add(() => new Promise((resolve) => server.close(resolve)));
    c.add(() => server.closeAllConnections());
    const fastify = Fastify();
    c.add(() => fastify.close());
    await fastify.register(fastifySessionAuth, { manager });
    fastify.get('/me', async () => 'ok');
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    for (const port of [(server.address() as AddressInfo).port, (fastify.server.address() as AddressInfo).port]) {
      const res = await fetch(`http://127.0.0.1:${port}/me`, { headers: { authorization: `Bearer ${hostile}` } });
      const text = await res.text();
      assert.is(res.status, 401);
      assert.equal(JSON.parse(text), { error: 'ERR_AUTH_TOKEN_INVALID', message: messageOf('ERR_AUTH_TOKEN_INVALID') });
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.is(challenge, `Bearer error="invalid_token", error_description="${messageOf('ERR_AUTH_TOKEN_INVALID')}"`);
      assert.not.ok(text.includes('INJECTED') || challenge.includes('INJECTED'));
    }
    const { url } = await startIo(c, manager);
    const refusal = await refused(c, url, { auth: { token: hostile } });
    assert.equal(refusal.data, { code: 'ERR_AUTH_TOKEN_INVALID', message: messageOf('ERR_AUTH_TOKEN_INVALID') });
  } finally {
    await c.run();
  }
});

S.run();

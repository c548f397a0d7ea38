import type { RedisServer } from '@jwt-session/redis-harness';
import type { JwtUserSessionManager } from '@jwt-session/session-core';
import express from 'express';
import { Redis } from 'ioredis';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { httpAuth, type AuthError } from '../src/index.js';
import { handProof, makeKey } from './dpop-support.js';
import { Cleanup, makeManager, refused, startIo, connect } from './support.js';

/*
 * Replay across a cluster (RFC 9449 §11.1): two guarded nodes behind one
 * public origin, each with its own manager and its own Redis connection,
 * sharing a real redis-server's RedisDpopReplayCache. A proof accepted by one
 * node is refused by the other, over HTTP and on the Socket.IO handshake.
 */

const S = suite('DPoP replay across two nodes (Redis replay cache)');

let redis: RedisServer | undefined;
let storage: typeof import('@jwt-session/storage-redis');
S.before(async () => {
  storage = await import('@jwt-session/storage-redis');
  const { startRedis } = await import('@jwt-session/redis-harness');
  redis = await startRedis();
});
S.after(async () => {
  await redis?.stop();
});

const ORIGIN = 'https://api.example.com';

function get(url: string, headers: Record<string, string>): Promise<{ status: number; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: text ? (JSON.parse(text) as { error?: string }).error : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

function replayCache(c: Cleanup): InstanceType<typeof storage.RedisDpopReplayCache> {
  const client = new Redis(redis!.url);
  client.on('error', () => undefined);
  c.add(() => client.disconnect());
  return new storage.RedisDpopReplayCache(client, { keyPrefix: 'dpop-cluster-test:' });
}

async function httpNode(c: Cleanup, manager: JwtUserSessionManager, errors: AuthError[]): Promise<string> {
  const app = express();
  app.get('/api/me', httpAuth(manager, { dpop: { replayCache: replayCache(c), publicOrigin: ORIGIN }, onError: (e) => errors.push(e) }), (req, res) => res.json({ userId: req.auth?.userId }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/me`;
}

S('HTTP: a proof accepted by node A is refused by node B (replayed), and a fresh one passes on B', async () => {
  const c = new Cleanup();
  try {
    const errors: AuthError[] = [];
    const key = makeKey();
    const managerA = makeManager(c);
    const managerB = makeManager(c);
    const [a, b] = [await httpNode(c, managerA, errors), await httpNode(c, managerB, errors)];
    const { accessToken } = await managerA.create('alice', { dpop: { jkt: key.jkt } });
    const proof = handProof(key, { htm: 'GET', htu: `${ORIGIN}/api/me`, accessToken });
    assert.is((await get(a, { authorization: `DPoP ${accessToken}`, dpop: proof })).status, 200);
    const replayed = await get(b, { authorization: `DPoP ${accessToken}`, dpop: proof });
    assert.is(replayed.status, 401);
    assert.is(replayed.error, 'ERR_DPOP_PROOF_INVALID');
    assert.is(errors.at(-1)?.reason, 'replayed');
    const fresh = handProof(key, { htm: 'GET', htu: `${ORIGIN}/api/me`, accessToken });
    assert.is((await get(b, { authorization: `DPoP ${accessToken}`, dpop: fresh })).status, 200);
  } finally {
    await c.run();
  }
});

S('Socket.IO: a handshake proof accepted by node A is refused by node B (replayed)', async () => {
  const c = new Cleanup();
  try {
    const errors: AuthError[] = [];
    const key = makeKey();
    const guard = () => ({ dpop: { replayCache: replayCache(c), publicOrigin: ORIGIN }, onError: (e: AuthError) => errors.push(e) });
    const managerA = makeManager(c);
    const managerB = makeManager(c);
    const a = await startIo(c, managerA, { guard: guard() });
    const b = await startIo(c, managerB, { guard: guard() });
    const { accessToken } = await managerA.create('alice', { dpop: { jkt: key.jkt } });
    const dpop = handProof(key, { htm: 'GET', htu: `${ORIGIN}/socket.io/`, accessToken });
    assert.ok((await connect(c, a.url, { auth: { token: accessToken, dpop } })).connected);
    const error = await refused(c, b.url, { auth: { token: accessToken, dpop } });
    assert.is(error.data?.code, 'ERR_DPOP_PROOF_INVALID');
    assert.is(errors.at(-1)?.reason, 'replayed');
  } finally {
    await c.run();
  }
});

S.run();

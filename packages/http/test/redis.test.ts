import type { RedisServer } from '@jwt-session/redis-harness';
import { randomBytes } from 'node:crypto';
import { SESSION_INVALIDATED } from '@jwt-session/session-core';
import * as dpop from 'dpop';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { expressFramework, fastifyFramework } from './frameworks.js';
import { Cleanup, Client, cookieAttributes, makeManager } from './support.js';

/*
 * Two app nodes in one process — one Express, one Fastify — each with its own
 * manager, sharing one real redis-server (the Redis refresh-token store and
 * invalidation broadcaster). A browser's requests land on either node (as
 * behind a load balancer); its page's origin, http://app.test, is allowed on both.
 */
const S = suite('session endpoints on two nodes over Redis');

let redis: RedisServer | undefined;
// Loaded here rather than at the top: a broken sibling package then fails this suite only.
let storage: typeof import('@jwt-session/storage-redis');
S.before(async () => {
  storage = await import('@jwt-session/storage-redis');
  const { startRedis } = await import('@jwt-session/redis-harness');
  redis = await startRedis();
});
S.after(async () => {
  await redis?.stop();
});

async function nodes(c: Cleanup, bound = false): Promise<{ a: string; b: string; managerA: ReturnType<typeof makeManager>; managerB: ReturnType<typeof makeManager> }> {
  const prefix = `http-${randomBytes(4).toString('hex')}:`;
  const make = async () => {
    const client = new Redis(redis!.url);
    client.on('error', () => undefined);
    c.add(() => client.disconnect());
    const broadcaster = new storage.RedisInvalidationBroadcaster(client, { keyPrefix: prefix });
    c.add(() => broadcaster.close());
    const manager = makeManager(c, { refreshTokenStore: new storage.RedisRefreshTokenStore(client, { keyPrefix: prefix }), broadcaster });
    await manager.ready();
    return manager;
  };
  const managerA = await make();
  const managerB = await make();
  // With DPoP: one replay registry on the shared Redis, and the public origin both nodes are reached at.
  const endpoints = () => {
    if (!bound) return { allowedOrigins: ['http://app.test'] };
    const client = new Redis(redis!.url);
    client.on('error', () => undefined);
    c.add(() => client.disconnect());
    return { allowedOrigins: ['http://app.test'], dpop: { replayCache: new storage.RedisDpopReplayCache(client, { keyPrefix: prefix }), publicOrigin: 'http://app.test' } };
  };
  const a = await expressFramework.start(c, managerA, { endpoints: endpoints() });
  const b = await fastifyFramework.start(c, managerB, { endpoints: endpoints() });
  return { a, b, managerA, managerB };
}

S('revoke-others on one node: the other devices are refused there at once and on the other node as soon as the broadcast arrives, the current one keeps refreshing on both', async () => {
  const c = new Cleanup();
  try {
    const { a, b, managerA } = await nodes(c);
    const me = new Client(a);
    const mine = await me.signIn('alice', { origin: 'http://app.test' });
    const laptop = await new Client(b).signIn('alice', { origin: 'http://app.test' });
    const phone = await new Client(a).signIn('alice', { origin: 'http://app.test' });
    const laptopToken = laptop.body!.accessToken as string;
    const phoneToken = phone.body!.accessToken as string;
    // Node B has verified the laptop's token (and cached it) before the revocation.
    assert.is((await new Client(b).call('/auth/sessions', { method: 'GET', bearer: laptopToken })).status, 200);

    const viaB = new Client(b);
    viaB.cookie = me.cookie;
    // "At once" is the broadcast's latency (ms), not zero: wait for node A to have received both
    // revocations before asking it, so the test does not race the stream on a loaded machine.
    const remote = new Set<string>();
    const delivered = new Promise<void>((resolve) => {
      managerA.on(SESSION_INVALIDATED, (event) => {
        if (event.origin === 'remote') remote.add(event.sessionId);
        if (remote.size === 2) resolve();
      });
    });
    const answer = await viaB.call('/auth/sessions/revoke-others', { bearer: mine.body!.accessToken as string, origin: 'http://app.test' });
    assert.equal([answer.status, answer.body], [200, { revoked: 2 }]);
    await Promise.race([delivered, new Promise((_, reject) => setTimeout(() => reject(new Error('node A never received the two revocations')), 10_000).unref())]);

    // Node B, where it was asked, refuses them at once; node A as soon as the broadcast arrives (polled, not slept).
    for (const token of [laptopToken, phoneToken]) {
      const refused = await new Client(b).call('/auth/sessions', { method: 'GET', bearer: token });
      assert.equal([refused.status, refused.body?.error], [401, 'ERR_SESSION_REVOKED'], 'Fastify node, at once');
      const deadline = Date.now() + 5000;
      let onA = await new Client(a).call('/auth/sessions', { method: 'GET', bearer: token });
      while (onA.status !== 401 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        onA = await new Client(a).call('/auth/sessions', { method: 'GET', bearer: token });
      }
      assert.equal([onA.status, onA.body?.error], [401, 'ERR_SESSION_REVOKED'], 'Express node, once the broadcast arrived');
    }
    // The current session rotates on either node.
    const first = await viaB.call('/auth/refresh', { origin: 'http://app.test' });
    assert.is(first.status, 200);
    const viaA = new Client(a);
    viaA.cookie = viaB.cookie;
    const second = await viaA.call('/auth/refresh', { origin: 'http://app.test' });
    assert.is(second.status, 200);
    const list = await viaA.call('/auth/sessions', { method: 'GET', bearer: second.body!.accessToken as string });
    assert.equal((list.body!.sessions as Array<{ current: boolean }>).map((s) => s.current), [true]);
  } finally {
    await c.run();
  }
});

S('a refresh cookie replayed on the other node is reuse: 401, cookie cleared, the session revoked on both nodes', async () => {
  const c = new Cleanup();
  try {
    const { a, b, managerA, managerB } = await nodes(c);
    const me = new Client(a);
    await me.signIn('alice', { origin: 'http://app.test' });
    const stolen = me.cookie;
    const fresh = await me.call('/auth/refresh', { origin: 'http://app.test' });
    const thief = new Client(b);
    thief.cookie = stolen;
    const answer = await thief.call('/auth/refresh', { origin: 'http://app.test' });
    assert.equal([answer.status, answer.body?.error, cookieAttributes(answer.setCookie!)['max-age']], [401, 'ERR_REFRESH_TOKEN_REUSED', '0']);
    // Node B detected the reuse and refuses at once; node A as soon as the broadcast arrives.
    const refusedBy = async (manager: typeof managerA) =>
      manager.read(fresh.body!.accessToken as string).then(
        () => undefined,
        (error: { code: string }) => error.code,
      );
    assert.is(await refusedBy(managerB), 'ERR_SESSION_REVOKED');
    const deadline = Date.now() + 5000;
    while ((await refusedBy(managerA)) === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is(await refusedBy(managerA), 'ERR_SESSION_REVOKED');
  } finally {
    await c.run();
  }
});

S('DPoP across the cluster: a refresh proof replayed to the other node is refused there; the copied cookie without the key too', async () => {
  const c = new Cleanup();
  try {
    const { a, b } = await nodes(c, true);
    const keypair = await dpop.generateKeyPair('ES256');
    const proof = (path: string) => dpop.generateProof(keypair, `http://app.test${path}`, 'POST');
    const alice = new Client(a);
    const signedIn = await alice.signIn('alice', { origin: 'http://app.test', headers: { dpop: await proof('/login') } });
    assert.is(signedIn.status, 200, signedIn.text);
    const refreshProof = await proof('/auth/refresh');
    assert.is((await alice.call('/auth/refresh', { origin: 'http://app.test', headers: { dpop: refreshProof } })).status, 200);
    // The same proof, with the same (new) cookie, on node B: its jti is in the shared registry.
    const onB = new Client(b);
    onB.cookie = alice.cookie;
    const replayed = await onB.call('/auth/refresh', { origin: 'http://app.test', headers: { dpop: refreshProof } });
    assert.equal([replayed.status, replayed.body?.error], [401, 'ERR_DPOP_PROOF_INVALID']);
    const withoutKey = await onB.call('/auth/refresh', { origin: 'http://app.test' });
    assert.equal([withoutKey.status, withoutKey.body?.error, withoutKey.setCookie], [401, 'ERR_DPOP_BINDING_MISMATCH', undefined]);
    // The holder of the key refreshes on node B with a fresh proof.
    assert.is((await onB.call('/auth/refresh', { origin: 'http://app.test', headers: { dpop: await proof('/auth/refresh') } })).status, 200);
  } finally {
    await c.run();
  }
});

S.run();

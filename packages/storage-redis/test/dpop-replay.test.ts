import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import { SessionError, checkDpopReplay, dpopReplayKey, isSessionError, verifyDpopProof } from '@jwt-session/session-core';
import { testDpopReplayCache } from '@jwt-session/session-core/testing';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisDpopReplayCache } from '../src/index.js';
import { assertTornDown, clusterClient, ioredisMajors, keysUnder, nodeFor, snapshot, standaloneClient, teardown, track, uniquePrefix } from './helpers.js';

/*
 * The cluster-wide DPoP replay cache (RFC 9449 §11.1) against real Redis:
 * session-core's conformance suite on a standalone server and a 3-master
 * Cluster, with a second client as a second node; a proof accepted by one
 * node and replayed to the other is refused; Redis paused or down refuses
 * every proof (fail closed) within the command timeout.
 */
for (const io of ioredisMajors) for (const [kind, connect] of [
  ['redis standalone', standaloneClient],
  ['redis cluster', clusterClient],
] as const) {
  testDpopReplayCache(`RedisDpopReplayCache, ${kind}, ${io.name}`, async () => {
    const keyPrefix = uniquePrefix('dpop');
    const cache = new RedisDpopReplayCache(await connect(io), { keyPrefix });
    // Another client: another node of the deployment.
    const peer = new RedisDpopReplayCache(await connect(io), { keyPrefix });
    return { cache, peer, close: async () => undefined };
  });
}

/** An ES256 DPoP proof made with node:crypto, for the end-to-end tests. */
const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = pair.publicKey.export({ format: 'jwk' });
const URL_ = 'https://api.example.com/api/me';
function makeProof(jti: string = randomUUID()): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64({ jti, htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000) })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}
const verify = (proof: string) => verifyDpopProof(proof, { method: 'GET', url: URL_ });

async function refusal(run: Promise<unknown>): Promise<SessionError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isSessionError(error), `not refused with a coded error: ${String(error)}`);
  return error as SessionError;
}

for (const io of ioredisMajors) {
  const S = suite(`RedisDpopReplayCache (${io.name})`);

  S('two nodes on a Cluster: a proof accepted by one is refused by the other, both ways', async () => {
    const keyPrefix = uniquePrefix('dpop2');
    const a = new RedisDpopReplayCache(await clusterClient(io), { keyPrefix });
    const b = new RedisDpopReplayCache(await clusterClient(io), { keyPrefix });
    for (const [first, second] of [[a, b], [b, a]] as const) {
      const proof = verify(makeProof());
      await checkDpopReplay(first, proof);
      const error = await refusal(checkDpopReplay(second, proof));
      assert.is(error.code, 'ERR_DPOP_PROOF_INVALID');
      // A new proof of the same client is fresh on either node.
      await checkDpopReplay(second, verify(makeProof()));
    }
  });

  S('one key per proof, a hash of thumbprint and jti: the raw jti is nowhere in Redis, and it expires with the proof', async () => {
    const client = await standaloneClient(io);
    const keyPrefix = uniquePrefix('dpopk');
    const cache = new RedisDpopReplayCache(client, { keyPrefix });
    const jti = `visible-jti-${randomUUID()}`;
    const proof = verify(makeProof(jti));
    await checkDpopReplay(cache, proof);
    const stored = await snapshot(client, keyPrefix);
    assert.is(stored.length, 1);
    assert.is(stored[0]!.key, cache.keys.dpopProof(dpopReplayKey(proof)));
    assert.is(cache.keys.kindOf(stored[0]!.key), 'dpop');
    assert.not.ok(JSON.stringify(stored).includes(jti), 'the jti is stored in clear');
    // PX: remembered for as long as the proof could be accepted (iat + 60 s + 5 s from now), no longer.
    assert.ok(stored[0]!.ttl > 60_000 && stored[0]!.ttl <= 65_000, String(stored[0]!.ttl));
  });

  S('one SET NX PX per proof, on the slot of its own key', async () => {
    const client = await clusterClient(io);
    const keyPrefix = uniquePrefix('dpops');
    const cache = new RedisDpopReplayCache(client, { keyPrefix });
    const proofs = Array.from({ length: 12 }, () => verify(makeProof()));
    for (const proof of proofs) await checkDpopReplay(cache, proof);
    const keys = await keysUnder(client, keyPrefix);
    assert.is(keys.length, 12);
    // Spread over the masters, not pinned to one slot by a hash tag.
    assert.ok(new Set(keys.map((key) => nodeFor(client, key).options.port)).size > 1);
  });

  S('options are validated', async () => {
    const client = await standaloneClient(io);
    for (const options of [{ keyPrefix: 'x{' }, { commandTimeout: 0 }, { commandTimeout: Number.NaN }, { maxInFlight: 0 }]) {
      assert.throws(
        () => new RedisDpopReplayCache(client, options),
        (error: unknown) => isSessionError(error, 'ERR_CONFIG_INVALID'),
      );
    }
  });

  S.run();

  const F = suite<{ server: RedisServer; client: Redis }>(`RedisDpopReplayCache fails closed (${io.name})`);
  const BOUND = 300;
  const SLACK = 400;

  F.before.each(async (ctx) => {
    ctx.server = await startRedis();
    ctx.client = track(new io.Redis(ctx.server.port));
  });
  F.after.each(async (ctx) => {
    ctx.server.resume();
    ctx.client.disconnect();
    await ctx.server.stop();
  });

  F('Redis paused: the proof is refused with ERR_STORAGE_UNAVAILABLE within the command timeout, and accepted once Redis answers again', async ({ server, client }) => {
    const cache = new RedisDpopReplayCache(client, { keyPrefix: uniquePrefix('p'), commandTimeout: BOUND });
    await checkDpopReplay(cache, verify(makeProof()));
    server.pause();
    const proof = verify(makeProof());
    const start = performance.now();
    const error = await refusal(checkDpopReplay(cache, proof));
    const took = performance.now() - start;
    assert.is(error.code, 'ERR_STORAGE_UNAVAILABLE');
    assert.ok(took <= BOUND + SLACK, `took ${took.toFixed(0)} ms`);
    server.resume();
    // Its SET may have run once Redis woke up: then a retry of the same proof is a replay, never a second acceptance.
    const again = await checkDpopReplay(cache, proof).then(
      () => 'fresh',
      (e: SessionError) => e.code,
    );
    assert.ok(again === 'fresh' || again === 'ERR_DPOP_PROOF_INVALID', again);
    await checkDpopReplay(cache, verify(makeProof()));
  });

  F('Redis down: refused, never sent; accepted again after a restart', async ({ server, client }) => {
    const cache = new RedisDpopReplayCache(client, { keyPrefix: uniquePrefix('k'), commandTimeout: BOUND });
    await checkDpopReplay(cache, verify(makeProof()));
    await server.kill();
    const deadline = Date.now() + 5000;
    while (client.status === 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const error = await refusal(checkDpopReplay(cache, verify(makeProof())));
    assert.is(error.code, 'ERR_STORAGE_UNAVAILABLE');
    assert.is((error.cause as { sent?: unknown } | undefined)?.sent, false);
    await server.restart();
    const until = Date.now() + 5000;
    while (client.status !== 'ready' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await checkDpopReplay(cache, verify(makeProof()));
  });

  F.run();
}

const end = suite('dpop replay teardown');
end.after(teardown);
end('teardown closes every client and stops every Redis server', assertTornDown);
end.run();

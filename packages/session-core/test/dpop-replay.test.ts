import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError, checkDpopReplay, dpopReplayKey, verifyDpopProof, type DpopReplayCache } from '../src/index.js';
import { baseCheck, makeKey, proof, refused } from './dpop-helpers.js';
import { ReferenceDpopReplayCache } from './reference-storage.js';

/*
 * checkDpopReplay (RFC 9449 §11.1): a proof is accepted once, on any node
 * that shares the cache; when the cache cannot vouch for the jti, the proof is
 * refused (fail closed).
 */
const S = suite('checkDpopReplay');

async function rejects(run: () => Promise<unknown>, code: string, reason?: string): Promise<unknown> {
  let error: unknown;
  await run().catch((e: unknown) => (error = e));
  refused(() => {
    if (error !== undefined) throw error;
  }, code as never, reason as never);
  return error;
}

S('a proof is accepted once; replayed to the same or another node it is refused', async () => {
  const a = new ReferenceDpopReplayCache();
  const b = a.peer();
  const verified = verifyDpopProof(proof(), baseCheck());
  await checkDpopReplay(a, verified);
  await rejects(() => checkDpopReplay(a, verified), 'ERR_DPOP_PROOF_INVALID', 'replayed');
  await rejects(() => checkDpopReplay(b, verified), 'ERR_DPOP_PROOF_INVALID', 'replayed');
  // Another proof of the same client is fresh.
  await checkDpopReplay(b, verifyDpopProof(proof(), baseCheck()));
});

S('the key is per client and jti, a hash that holds neither', () => {
  const one = makeKey('P-256');
  const two = makeKey('P-256');
  const p1 = verifyDpopProof(proof({ key: one, claims: { jti: 'same-jti' } }), baseCheck());
  const p2 = verifyDpopProof(proof({ key: two, claims: { jti: 'same-jti' } }), baseCheck());
  assert.is.not(dpopReplayKey(p1), dpopReplayKey(p2), 'two clients with one jti share a key');
  assert.is(dpopReplayKey(p1), dpopReplayKey({ jkt: p1.jkt, jti: 'same-jti' }));
  assert.match(dpopReplayKey(p1), /^[A-Za-z0-9_-]{43}$/);
  assert.not.ok(dpopReplayKey(p1).includes('same-jti'));
});

S('remembered for as long as the proof could be accepted', async () => {
  const seen: number[] = [];
  const cache: DpopReplayCache = { remember: async (_key, ttl) => (seen.push(ttl), 'fresh') };
  await checkDpopReplay(cache, verifyDpopProof(proof(), baseCheck()));
  await checkDpopReplay(cache, verifyDpopProof(proof(), baseCheck({ maxAge: 300, clockTolerance: 10 })));
  assert.equal(seen, [65_000, 310_000]);
});

S('fail closed: a cache that throws, or answers nonsense, refuses the proof with ERR_STORAGE_UNAVAILABLE', async () => {
  const verified = verifyDpopProof(proof(), baseCheck());
  const down: DpopReplayCache = { remember: () => Promise.reject(new Error('ECONNREFUSED with the command line in it')) };
  const error = (await rejects(() => checkDpopReplay(down, verified), 'ERR_STORAGE_UNAVAILABLE')) as SessionError;
  assert.not.ok(error.message.includes('ECONNREFUSED'));
  const coded: DpopReplayCache = { remember: () => Promise.reject(new SessionError('ERR_STORAGE_UNAVAILABLE')) };
  await rejects(() => checkDpopReplay(coded, verified), 'ERR_STORAGE_UNAVAILABLE');
  const throwsSync: DpopReplayCache = {
    remember: () => {
      throw new TypeError('sync');
    },
  };
  await rejects(() => checkDpopReplay(throwsSync, verified), 'ERR_STORAGE_UNAVAILABLE');
  for (const answer of [undefined, 'FRESH', true, 1, { fresh: true }]) {
    const odd = { remember: async () => answer } as unknown as DpopReplayCache;
    await rejects(() => checkDpopReplay(odd, verified), 'ERR_STORAGE_UNAVAILABLE');
  }
});

S.run();

/**
 * Cases 1, 2, 9 and 10: read() on the hot path (a token already verified) and
 * the cold path (a token never seen), against the limits (HMAC, crypto.verify),
 * fast-jwt (with its cache on the hot path, without on the cold path: cache
 * with cache, full verification with full verification) and jose.jwtVerify.
 */
import jsonwebtoken from 'jsonwebtoken';
import type { JwtUserSessionManager } from '@jwt-session/session-core';
import { alternate, freshCopies, pairedRatio, type Benchable } from '../lib/measure.js';
import { callsIn, coldRounds } from '../lib/cold.js';
import { AUDIENCE, CLOCK_TOLERANCE, HS_SECRET, ISSUER, fastJwtVerifier, hmacLimit, hmacLimitPool, joseVerifier, keySet, memoryManager, mintTokens, signatureLimit, type Alg, type KeySet } from '../lib/fixtures.js';
import { median, opsPerSec } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

/** Fill the manager's verified-token cache to `count` entries (tokens it will never see again), several reads in flight. */
export async function fillCache(manager: JwtUserSessionManager, keys: KeySet, count: number): Promise<void> {
  const chunk = 10_000;
  for (let done = 0; done < count; done += chunk) {
    const tokens = await mintTokens(keys, Math.min(chunk, count - done), 10_000_000 + done);
    // Twice: the cache admits a token on its second verification (its doorkeeper), as a busy server's repeat clients would.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < tokens.length; i += 64) await Promise.all(tokens.slice(i, i + 64).map((t) => manager.read(t)));
    }
  }
}

async function hot(ctx: BenchContext, keys: KeySet, withHmac: boolean, sameObject = false) {
  const manager = memoryManager(keys);
  await manager.ready();
  const [token] = await mintTokens(keys, 1);
  // Verified twice (the cache admits a token on its second verification): every later read() is a cache hit.
  await manager.read(token!);
  await manager.read(token!);
  const verify = await joseVerifier(keys, 'cryptokey');
  const verifyKeyObject = await joseVerifier(keys, 'keyobject');
  // Each read() gets a new string with the token's content, as from a request header (V8 must hash it again);
  // `sameObject` passes the very same string object every time (its hash cached in the string): an optimistic bound.
  const read: Benchable = sameObject ? () => manager.read(token!) : freshCopies(() => token!, (t) => manager.read(t));
  const fns: Record<string, Benchable> = { read, jose: () => verify(token!), joseKeyObject: () => verifyKeyObject(token!) };
  if (withHmac) fns.hmac = hmacLimit(token!);
  // fast-jwt with its cache gets the same fresh string copies as read(): its cache hit is what read()'s is compared with.
  const fast = fastJwtVerifier(keys, true);
  fast(token!);
  fns.fastJwtCache = sameObject ? () => fast(token!) : freshCopies(() => token!, fast);
  const ns = await alternate(ctx, fns);
  await manager.close();
  return ns;
}

async function cold(ctx: BenchContext, keys: KeySet, prefill: number) {
  // verifiedTokenCacheSize left at its default (100 000), as in production.
  const manager = memoryManager(keys);
  await manager.ready();
  const verify = await joseVerifier(keys, 'cryptokey');
  const verifyKeyObject = await joseVerifier(keys, 'keyobject');
  const fastJwt = fastJwtVerifier(keys, false);
  const read = (t: string) => manager.read(t);
  // Warm the code paths up, and size the rounds so each takes about ctx.measureMs.
  const probe = await mintTokens(keys, ctx.quick ? 50 : 200, 20_000_000);
  await callsIn(10, verify, probe, 1, 1);
  await callsIn(10, verifyKeyObject, probe, 1, 1);
  for (const t of probe) await read(t);
  for (const t of probe) fastJwt(t);
  const perRound = await callsIn(ctx.measureMs, verify, probe, ctx.quick ? 100 : 500, 100_000);
  // A busy server's cache is full. Fill it first (not timed). With the admission filter a token seen once is not
  // cached, so only the cold reads that hit a doorkeeper false positive (about 1 %) are admitted and evict.
  if (prefill > 0) await fillCache(manager, keys, prefill);
  const pools: string[][] = [];
  for (let r = 0; r < ctx.rounds; r++) pools.push(await mintTokens(keys, perRound, 30_000_000 + r * perRound));
  const limit = keys.alg === 'HS256' ? hmacLimitPool : signatureLimit(keys);
  const ns = await coldRounds(ctx, { read, jose: verify, joseKeyObject: verifyKeyObject, fastJwt }, pools, { limit });
  await manager.close();
  return { ns, perRound };
}

const JOSE = 'jwtVerify(CryptoKey)';
const JOSE_KO = 'jwtVerify(KeyObject)';

function hotRows(id: string, alg: Alg, ns: Record<string, number[]>, withGoals: boolean): Row[] {
  const rows: Row[] = [];
  const read = { label: 'read()', value: opsPerSec(median(ns.read!)), unit: 'ops/s' as const };
  const row = (suffix: string, base: string, label: string, what: string, goal: Row['goal']): Row => {
    const r = pairedRatio(ns[base]!, ns.read!);
    return {
      id: `${id}${suffix}`, case: `read() hot, ${alg}, vs ${what}`, candidate: read,
      baseline: { label, value: opsPerSec(median(ns[base]!)), unit: 'ops/s' },
      ratio: r.median, ratioKind: 'ops/s ÷ baseline ops/s', goal, status: judge(r.median, goal), rounds: r.rounds,
    };
  };
  if (ns.hmac !== undefined) rows.push(row('a', 'hmac', 'HMAC limit', 'the HMAC limit', { op: '>=', value: 4, text: 'read() ops/s ÷ HMAC-limit ops/s' }));
  rows.push(row(ns.hmac !== undefined ? 'b' : '', 'jose', JOSE, 'jose.jwtVerify', withGoals ? { op: '>=', value: 100, text: 'read() ops/s ÷ jose.jwtVerify ops/s' } : undefined));
  if (withGoals) rows.push(row('c', 'joseKeyObject', JOSE_KO, 'jose.jwtVerify with a KeyObject (report)', undefined));
  rows.push(row(ns.hmac !== undefined ? 'd' : '-fastjwt', 'fastJwtCache', 'fast-jwt, cache', 'fast-jwt with its cache', withGoals ? { op: '>=', value: 5, text: 'read() ops/s ÷ fast-jwt (cache) ops/s' } : undefined));
  return rows;
}

function coldRows(id: string, alg: Alg, res: { ns: Record<string, number[]>; perRound: number }, withGoals: boolean, prefill: number): Row[] {
  const { ns } = res;
  const what = `read() cold, ${alg}, new token each call (cache default size${prefill > 0 ? ', full' : ''})`;
  const extra = { tokensPerRound: res.perRound, cachePrefilledWith: prefill };
  const candidateTime = { label: 'read()', value: median(ns.read!) / 1000, unit: 'µs/op' as const };
  // Speed rows: read() ops/s ÷ baseline ops/s, i.e. baseline time ÷ read() time, per round.
  const speed = (rowId: string, base: string, label: string, goal: Row['goal'], suffix: string): Row => {
    const r = pairedRatio(ns[base]!, ns.read!);
    return {
      id: rowId, case: `${what}${suffix}`,
      candidate: { label: 'read()', value: opsPerSec(median(ns.read!)), unit: 'ops/s' },
      baseline: { label, value: opsPerSec(median(ns[base]!)), unit: 'ops/s' },
      ratio: r.median, ratioKind: 'ops/s ÷ baseline ops/s', goal, status: judge(r.median, goal), rounds: r.rounds, extra,
    };
  };
  const time = (rowId: string, base: string, label: string, goal: Row['goal'], suffix: string): Row => {
    const r = pairedRatio(ns.read!, ns[base]!);
    return {
      id: rowId, case: `${what}${suffix}`, candidate: candidateTime,
      baseline: { label, value: median(ns[base]!) / 1000, unit: 'µs/op' },
      ratio: r.median, ratioKind: 'time/op ÷ baseline time/op', goal, status: judge(r.median, goal), rounds: r.rounds, extra,
    };
  };
  const hs = alg === 'HS256';
  const limitLabel = hs ? 'HMAC limit' : 'crypto.verify';
  const limitGoal: Row['goal'] = withGoals || !hs ? { op: '>=', value: hs ? 0.5 : 0.8, text: `read() ops/s ÷ ${limitLabel} ops/s` } : undefined;
  const fastGoal: Row['goal'] = withGoals && hs ? { op: '>=', value: 1, text: 'read() ops/s ÷ fast-jwt (no cache) ops/s' } : undefined;
  return [
    speed(`${id}-limit`, 'limit', limitLabel, limitGoal, hs ? ', vs the HMAC limit' : ', vs bare crypto.verify with the same KeyObject'),
    speed(`${id}-fastjwt`, 'fastJwt', 'fast-jwt, no cache', fastGoal, ', vs fast-jwt without cache'),
    time(id, 'jose', JOSE, withGoals && hs ? { op: '<=', value: 1.1, text: 'read() time/op ÷ jose.jwtVerify time/op' } : undefined, ', vs jose.jwtVerify'),
    ...(withGoals ? [time(`${id}c`, 'joseKeyObject', JOSE_KO, undefined, ', vs jwtVerify with a KeyObject (report)')] : []),
  ];
}

export async function runRead(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  const hs = keySet('HS256');
  ctx.log('case 1: read() hot, HS256');
  rows.push(...hotRows('1', 'HS256', await hot(ctx, hs, true), true));
  ctx.log('case 1 (variant): read() hot, HS256, the same string object every call');
  const same = hotRows('1′', 'HS256', await hot(ctx, hs, true, true), false);
  for (const row of same) {
    row.case = row.case.replace('read() hot', 'read() hot, same string object');
    row.goal = undefined;
    row.status = 'REPORT';
  }
  rows.push(...same);
  // The default cache holds 100 000 verified tokens; in a busy server it is full and every cold read also evicts one.
  const prefill = ctx.quick ? 10_000 : 100_000;
  ctx.log(`case 2: read() cold, HS256 (cache prefilled with ${prefill})`);
  rows.push(...coldRows('2', 'HS256', await cold(ctx, hs, prefill), true, prefill));
  if (!ctx.quick) {
    ctx.log('case 2 (variant): read() cold, HS256, cache not full');
    for (const row of coldRows('2′', 'HS256', await cold(ctx, hs, 0), false, 0)) {
      row.note = 'report: same, with an empty cache (no eviction)';
      rows.push(row);
    }
  }

  for (const [n, alg] of [['9a', 'EdDSA'], ['9b', 'ES256']] as const) {
    const keys = keySet(alg);
    ctx.log(`case 9: ${alg} hot and cold`);
    rows.push(...hotRows(`${n}-hot`, alg, await hot(ctx, keys, false), false));
    rows.push(...coldRows(`${n}-cold`, alg, await cold(ctx, keys, 0), false, 0));
  }

  ctx.log('case 10: jsonwebtoken.verify reference');
  const [token] = await mintTokens(hs, 1);
  const verify = await joseVerifier(hs, 'cryptokey');
  const options: jsonwebtoken.VerifyOptions = { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, clockTolerance: CLOCK_TOLERANCE };
  jsonwebtoken.verify(token!, HS_SECRET, options); // throws if the fixture were wrong
  const ns = await alternate(ctx, { jsonwebtoken: () => jsonwebtoken.verify(token!, HS_SECRET, options), jose: () => verify(token!) });
  const r = pairedRatio(ns.jose!, ns.jsonwebtoken!);
  rows.push({
    id: '10', case: 'reference: jsonwebtoken.verify, HS256 string secret',
    candidate: { label: 'jsonwebtoken', value: opsPerSec(median(ns.jsonwebtoken!)), unit: 'ops/s' },
    baseline: { label: JOSE, value: opsPerSec(median(ns.jose!)), unit: 'ops/s' },
    ratio: r.median, ratioKind: 'ops/s ÷ baseline ops/s', status: 'REPORT', rounds: r.rounds,
  });
  return rows;
}

/**
 * Cases P1–P3: what DPoP (RFC 9449) costs at the guards.
 *
 * P1: one DPoP-guarded request through Express `httpAuth` (in process: the
 * middleware called with a request object, as Express calls it), a hot access
 * token (cache hit) and a new proof each call, against the bare
 * `crypto.verify` ES256 limit on proofs of the same bytes (signing input and
 * signature decoded outside the timing, the key imported once). Everything
 * the guard does besides that one signature check — the token's read, the
 * proof's parsing and §4.3 rules, the `ath` hash, the in-memory replay cache,
 * the promise — must cost under a quarter of it: the proof's JWK is imported
 * once per key (session-core's ProofKeyCache), never per request.
 *
 * P2: Socket.IO handshakes/s (websocket, 50 in flight, new bound token and
 * new proof each) on attachSessionGuard with `dpop`, against the floor plus
 * one ES256 verify (children/dpop-sio-server.ts). Servers in a child process.
 *
 * P3: the cluster-wide replay check, `RedisDpopReplayCache.remember`, against
 * a bare `SET key 1 PX ttl NX` on the same client (sequential: per-request
 * latency on the real redis-server of the run). Report only.
 */
import { verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dpopReplayKey } from '@jwt-session/session-core';
import { httpAuth } from '@jwt-session/socketio-adapter';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { RedisDpopReplayCache } from '@jwt-session/storage-redis';
import { Child } from '../lib/child.js';
import { clientKey, proofMaker } from '../lib/dpop.js';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';
import { alternate, type Benchable } from '../lib/measure.js';
import { redisClient } from '../lib/redis.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Goal, type Row } from '../lib/types.js';
import { wsHandshake } from '../lib/ws-handshake.js';

const ORIGIN = 'https://api.bench.example';
const IN_FLIGHT = 50;

/** A generator for mitata: `next()` makes each call's argument outside the timed region. */
function withFresh<T>(next: () => T, fn: (value: T) => unknown): Benchable {
  return function* () {
    yield { [0]: next, bench: fn };
  };
}

async function guardedRequest(ctx: BenchContext): Promise<Row[]> {
  const manager = memoryManager(keySet('HS256'));
  const replayCache = new MemoryDpopReplayCache();
  try {
    const key = clientKey();
    const { accessToken } = await manager.create('user-1', { dpop: { jkt: key.jkt } });
    const prove = proofMaker(key);
    const htu = `${ORIGIN}/api/me`;
    const guard = httpAuth(manager, { dpop: { replayCache, publicOrigin: ORIGIN } });
    let refused = 0;
    const res = {
      setHeader: () => undefined,
      end: () => void refused++,
      statusCode: 200,
    } as unknown as ServerResponse;
    const request = () => {
      const proof = prove('GET', htu, accessToken);
      return { method: 'GET', url: '/api/me', headers: { host: 'node-1.internal', authorization: `DPoP ${accessToken}`, dpop: proof }, rawHeaders: ['Host', 'node-1.internal', 'Authorization', `DPoP ${accessToken}`, 'DPoP', proof], socket: {} } as unknown as IncomingMessage;
    };
    const call = (req: IncomingMessage) => new Promise<void>((resolve) => guard(req, res, () => resolve()));
    // Checked before timing: accepted (next() called, req.auth set), and the same proof refused a second time.
    const first = request();
    await call(first);
    if ((first as { auth?: unknown }).auth === undefined || refused !== 0) throw new Error('P1: the guard refused a good proof');
    await Promise.race([call(first), new Promise((resolve) => setTimeout(resolve, 100))]);
    if ((refused as number) !== 1) throw new Error('P1: the guard accepted a replayed proof');
    refused = 0;

    // Each round: a pool of requests with new proofs, made outside the timing; the guard takes them one by one
    // (each awaited, as mitata would), then the limit verifies the very same proofs, decoded beforehand.
    const size = ctx.quick ? 1_000 : 4_000;
    const guardNs: number[] = [];
    const limitNs: number[] = [];
    const timeGuard = async (pool: IncomingMessage[]) => {
      const start = performance.now();
      for (const req of pool) await call(req);
      guardNs.push(((performance.now() - start) * 1e6) / pool.length);
    };
    const timeLimit = (pool: IncomingMessage[]) => {
      const decoded = pool.map((req) => {
        const proof = req.headers.dpop as string;
        const dot = proof.lastIndexOf('.');
        return { input: Buffer.from(proof.slice(0, dot)), signature: Buffer.from(proof.slice(dot + 1), 'base64url') };
      });
      const start = performance.now();
      for (const p of decoded) if (!verify('sha256', p.input, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, p.signature)) throw new Error('P1 limit: signature');
      limitNs.push(((performance.now() - start) * 1e6) / pool.length);
    };
    // Warm-up, not timed: the JIT of both paths.
    const warm = Array.from({ length: size / 2 }, request);
    await timeGuard(warm);
    timeLimit(warm);
    guardNs.length = 0;
    limitNs.length = 0;
    for (let round = 0; round < ctx.rounds; round++) {
      const pool = Array.from({ length: size }, request);
      if (round % 2 === 0) {
        await timeGuard(pool);
        timeLimit(pool);
      } else {
        timeLimit(pool);
        await timeGuard(pool);
      }
    }
    if (refused !== 0) throw new Error(`P1: ${refused} good proofs refused while timed`);
    const results = { guard: guardNs, limit: limitNs };
    const rounds = results.guard.map((ns, i) => results.limit[i]! / ns);
    const ratio = median(rounds);
    const goal: Goal = { op: '>=', value: 0.8, text: 'DPoP-guarded requests/s ÷ bare crypto.verify ES256/s' };
    return [
      {
        id: 'P1',
        case: 'DPoP-guarded request (Express httpAuth, hot token, new proof each, memory replay cache) vs the bare crypto.verify ES256 limit on the same proof bytes',
        candidate: { label: 'httpAuth with dpop', value: 1e9 / median(results.guard), unit: 'ops/s' },
        baseline: { label: 'crypto.verify ES256', value: 1e9 / median(results.limit), unit: 'ops/s' },
        ratio,
        ratioKind: 'ops/s ÷ baseline ops/s',
        goal,
        status: judge(ratio, goal),
        rounds,
      },
    ];
  } finally {
    await manager.close();
    await replayCache.close();
  }
}

async function guardedHandshake(ctx: BenchContext): Promise<Row[]> {
  const ms = ctx.quick ? 300 : 1500;
  const key = clientKey();
  const server = new Child('dpop-sio-server', [JSON.stringify(key.jwk)]);
  try {
    const ready = await server.next('ready', 60_000);
    const ports = { guarded: ready.guarded as number, floor: ready.floor as number };
    const keys = keySet('HS256');
    const tokens = await mintTokens(keys, ctx.quick ? 5_000 : 40_000, 0, { cnf: { jkt: key.jkt } });
    const prove = proofMaker(key);
    let next = 0;
    const cpu = async () => {
      server.send({ type: 'cpu' });
      return (await server.next('cpu')).micros as number;
    };
    const run = async (port: number, duration: number) => {
      const htu = `http://127.0.0.1:${port}/socket.io/`;
      const cpu0 = await cpu();
      let done = 0;
      const start = performance.now();
      const deadline = start + duration;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (performance.now() < deadline) {
            const token = tokens[next++ % tokens.length]!;
            await wsHandshake(port, token, { dpop: prove('GET', htu, token) });
            done++;
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      return { rate: done / seconds, cpu: ((await cpu()) - cpu0) / done };
    };
    await run(ports.guarded, ctx.quick ? ms : 3 * ms);
    await run(ports.floor, ms);
    const g: { rate: number; cpu: number }[] = [];
    const f: { rate: number; cpu: number }[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      if (round % 2 === 0) {
        g.push(await run(ports.guarded, ms));
        f.push(await run(ports.floor, ms));
      } else {
        f.push(await run(ports.floor, ms));
        g.push(await run(ports.guarded, ms));
      }
    }
    const rounds = g.map((x, i) => x.rate / f[i]!.rate);
    const ratio = median(rounds);
    const goal: Goal = { op: '>=', value: 0.9, text: 'DPoP-guarded handshakes/s ÷ (floor + one ES256 verify) handshakes/s' };
    return [
      {
        id: 'P2',
        case: `Socket.IO handshakes/s, websocket, ${IN_FLIGHT} in flight, attachSessionGuard with dpop (new bound token and proof each) vs the floor plus one ES256 verify — server CPU ${median(g.map((x) => x.cpu)).toFixed(0)} vs ${median(f.map((x) => x.cpu)).toFixed(0)} µs/handshake`,
        candidate: { label: 'guarded with dpop', value: median(g.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'floor + ES256 verify', value: median(f.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio,
        ratioKind: 'handshakes/s ÷ baseline handshakes/s',
        goal,
        status: judge(ratio, goal),
        rounds,
        extra: { serverCpuMicrosGuarded: g.map((x) => x.cpu), serverCpuMicrosFloor: f.map((x) => x.cpu), handshakes: next, tokens: tokens.length },
      },
    ];
  } finally {
    await server.stop();
  }
}

async function redisReplay(ctx: BenchContext): Promise<Row[]> {
  const client = await redisClient();
  const cache = new RedisDpopReplayCache(client, { keyPrefix: 'bench-dpop:' });
  let n = 0;
  // Keys as the cache gets them: dpopReplayKey of a proof (43 base64url characters), a new one each call.
  const nextKey = () => dpopReplayKey({ jkt: 'A'.repeat(43), jti: `jti-${n++}` });
  const ttl = 65_000;
  const results = await alternate(ctx, {
    cache: withFresh(nextKey, async (key: string) => {
      if ((await cache.remember(key, ttl)) !== 'fresh') throw new Error('P3: a new key was not fresh');
    }),
    set: withFresh(nextKey, async (key: string) => {
      if ((await client.set(`bench-dpop-bare:${key}`, '1', 'PX', ttl, 'NX')) !== 'OK') throw new Error('P3: SET NX refused a new key');
    }),
  });
  await cache.close();
  const rounds = results.cache!.map((ns, i) => ns / results.set![i]!);
  return [
    {
      id: 'P3',
      case: 'cluster-wide DPoP replay check: RedisDpopReplayCache.remember (one atomic SET NX PX, bounded queue, timeout) vs a bare SET NX PX, per request, sequential',
      candidate: { label: 'RedisDpopReplayCache', value: median(results.cache!) / 1000, unit: 'µs/op' },
      baseline: { label: 'SET NX PX', value: median(results.set!) / 1000, unit: 'µs/op' },
      ratio: median(rounds),
      ratioKind: 'time/op ÷ baseline time/op',
      status: 'REPORT',
      rounds,
    },
  ];
}

export async function runDpop(ctx: BenchContext): Promise<Row[]> {
  ctx.log(`cases P1–P3: DPoP at the guards (in-process request, Socket.IO handshakes, Redis replay check), ${ctx.rounds} rounds`);
  return [...(await guardedRequest(ctx)), ...(await guardedHandshake(ctx)), ...(await redisReplay(ctx))];
}

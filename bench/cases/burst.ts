/**
 * Case 11: a burst of 10,000 concurrent create() on one node against a
 * healthy Redis, standalone and a 3-master cluster, each round with a cold
 * client (constructed, not yet connected), the way a refresh storm after an
 * outage arrives. Two figures per topology: the share that succeeded, and how
 * many sessions are in Redis although their create() was reported as failed
 * (counted exactly: the session ids found in Redis that no successful
 * create() returned).
 */
import { startCluster, type RedisCluster } from '@jwt-session/redis-harness';
import { JwtUserSessionManager, SessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { Cluster, Redis } from 'ioredis';
import { ACCESS_TTL, AUDIENCE, ISSUER, keySet } from '../lib/fixtures.js';
import { redisServer } from '../lib/redis.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

const BURST = 10_000;

export interface BurstOutcome {
  succeeded: number;
  /** Failures by error code. */
  failed: Record<string, number>;
  /** Sessions in Redis whose create() was reported as failed. */
  failedYetWritten: number;
  ms: number;
  /** `accessTokenExpiresAt` of each access token issued (Unix seconds): when each client will refresh. */
  expiries: number[];
}

/** The ids of the sessions a subject's key holds (MessagePack `[format, bound, records]`, records last, a record's id first; see storage-redis' scripts). */
const IDS = "local v = cmsgpack.unpack(redis.call('GET', KEYS[1])) local out = {} for _, rec in ipairs(v[#v]) do out[#out + 1] = rec[1] end return out";

/** Every session id stored under `prefix`: each master's subject keys found with SCAN, their records' ids read in Redis. */
async function storedSessionIds(admin: Redis | Cluster, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const masters = admin instanceof Cluster ? admin.nodes('master') : [admin];
  for (const node of masters) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*:s:*`, 'COUNT', 1000);
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.eval(IDS, 1, key);
      for (const [error, found] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        for (const id of found as string[]) ids.add(id);
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return ids;
}

/** One burst: a cold client, `count` concurrent create() of distinct subjects, then what Redis holds. */
export async function burst(connect: () => Redis | Cluster, count = BURST, accessTokenTtlJitter = 0): Promise<BurstOutcome> {
  const client = connect();
  client.on('error', () => undefined);
  const prefix = `burst-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}:`;
  const keys = keySet('HS256');
  const manager = new JwtUserSessionManager({
    keys: keys.signing,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTokenTtl: ACCESS_TTL,
    accessTokenTtlJitter,
    refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: prefix }),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  });
  const start = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => manager.create(`burst-user-${i}`, { claims: { roles: ['user'] }, context: { ip: '203.0.113.7' } })));
  const ms = performance.now() - start;
  const created = new Set<string>();
  const expiries: number[] = [];
  const failed: Record<string, number> = {};
  for (const r of results) {
    if (r.status === 'fulfilled') {
      created.add(r.value.sessionId);
      expiries.push(r.value.accessTokenExpiresAt);
    }
    else {
      // The code, and the storage's reason without its figures: "not sent" (shed before sending) or "no answer" (sent, outcome unknown).
      const cause = r.reason instanceof SessionError ? (r.reason.cause as Error | undefined) : undefined;
      const code = r.reason instanceof SessionError ? `${r.reason.code}: ${(cause?.message ?? '').replace(/^redis \w+ failed: /, '').replace(/\d+ ms/, 'N ms')}` : String(r.reason);
      failed[code] = (failed[code] ?? 0) + 1;
    }
  }
  // Commands that were sent still land after their caller gave up: let every reply arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const admin = connect();
  admin.on('error', () => undefined);
  let failedYetWritten = 0;
  try {
    // A cold Cluster client knows no node until it is ready: asked earlier, it would list no master and find nothing.
    if (admin.status !== 'ready') await new Promise((resolve) => admin.once('ready', resolve));
    const stored = await storedSessionIds(admin, prefix);
    for (const id of created) if (!stored.has(id)) throw new Error(`burst: created session ${id} is not in Redis (the count of what is stored is broken)`);
    for (const id of stored) if (!created.has(id)) failedYetWritten++;
  } finally {
    admin.disconnect();
    await manager.close();
    client.disconnect();
  }
  return { succeeded: created.size, failed, failedYetWritten, ms, expiries };
}

export async function runBurst(ctx: BenchContext): Promise<Row[]> {
  const rounds = Math.min(ctx.rounds, 3);
  ctx.log(`case 11: burst of ${BURST} concurrent create(), cold client, standalone and 3-master cluster, ${rounds} rounds`);
  const server = await redisServer();
  let cluster: RedisCluster | undefined;
  const rows: Row[] = [];
  try {
    cluster = await startCluster({ masters: 3 });
    const c = cluster;
    const topologies: [string, string, () => Redis | Cluster][] = [
      ['11a', 'standalone', () => new Redis(server.port, { host: server.host })],
      ['11b', '3-master cluster', () => new Cluster(c.startupNodes)],
    ];
    for (const [id, name, connect] of topologies) {
      const outcomes: BurstOutcome[] = [];
      for (let round = 0; round < rounds; round++) {
        const o = await burst(connect);
        ctx.log(`  ${name} round ${round + 1}: ${o.succeeded}/${BURST} succeeded in ${o.ms.toFixed(0)} ms, failed ${JSON.stringify(o.failed)}, reported failed yet written ${o.failedYetWritten}`);
        outcomes.push(o);
      }
      const success = outcomes.map((o) => (100 * o.succeeded) / BURST);
      const written = outcomes.map((o) => o.failedYetWritten);
      const rate = median(outcomes.map((o) => (o.succeeded / o.ms) * 1000));
      const successGoal = { op: '>=' as const, value: 99, text: '% of the burst that succeeded', exact: true };
      const writtenGoal = { op: '<=' as const, value: 0, text: 'sessions written by a create() reported as failed', exact: true };
      const failures = outcomes.map((o) => JSON.stringify(o.failed)).join(' / ');
      rows.push({
        id,
        case: `burst of ${BURST / 1000}k concurrent create(), Redis ${name}, cold client: % succeeded`,
        candidate: { label: 'completed', value: rate, unit: 'ops/s' },
        ratio: median(success), ratioKind: 'absolute', goal: successGoal, status: judge(median(success), successGoal),
        rounds: success,
        note: `range ${Math.min(...success).toFixed(2)}–${Math.max(...success).toFixed(2)}%; failures per round ${failures}`,
      });
      rows.push({
        id: `${id}′`,
        case: `burst as ${id}: creates reported as failed whose session is in Redis anyway`,
        ratio: Math.max(...written), ratioKind: 'absolute', goal: writtenGoal, status: judge(Math.max(...written), writtenGoal),
        rounds: written,
        note: `worst of ${rounds} rounds`,
      });
    }
  } finally {
    await cluster?.stop();
  }
  return rows;
}

/** The largest share of `expiries` that falls in one second: the peak of the refreshes the burst's clients will make together. */
function peakSecond(expiries: number[]): number {
  const perSecond = new Map<number, number>();
  for (const e of expiries) perSecond.set(e, (perSecond.get(e) ?? 0) + 1);
  return expiries.length === 0 ? 1 : Math.max(...perSecond.values()) / expiries.length;
}

/**
 * Case 11c (issue 22, group `burst-jitter`): the burst of 11a on standalone
 * Redis with `accessTokenTtlJitter: 0.05` and without, alternating rounds:
 * the peak share of the burst whose access tokens expire in the same second
 * (when those clients refresh), jitter over none; and create()/s of the
 * jittered burst over the plain one (what the jitter costs).
 */
export async function runBurstJitter(ctx: BenchContext): Promise<Row[]> {
  const rounds = Math.min(ctx.rounds, 3);
  const count = ctx.quick ? 2000 : BURST;
  const JITTER = 0.05;
  ctx.log(`case 11c: burst of ${count} concurrent create() on standalone Redis, accessTokenTtlJitter ${JITTER} against none, ${rounds} rounds`);
  const server = await redisServer();
  const connect = () => new Redis(server.port, { host: server.host });
  const peaks: number[] = [];
  const speed: number[] = [];
  let longer = 0;
  const notes: string[] = [];
  for (let round = 0; round < rounds; round++) {
    // Order alternated: the first burst of a pair meets a colder Redis.
    const first = await burst(connect, count, round % 2 === 0 ? 0 : JITTER);
    const second = await burst(connect, count, round % 2 === 0 ? JITTER : 0);
    const [plain, jittered] = round % 2 === 0 ? [first, second] : [second, first];
    // Never longer: every jittered token was issued before now, so none may expire after now + accessTokenTtl.
    const bound = Math.floor(Date.now() / 1000) + ACCESS_TTL;
    longer += jittered.expiries.filter((e) => e > bound).length;
    peaks.push(peakSecond(jittered.expiries) / peakSecond(plain.expiries));
    speed.push(jittered.succeeded / jittered.ms / (plain.succeeded / plain.ms));
    notes.push(`${(100 * peakSecond(plain.expiries)).toFixed(1)}% → ${(100 * peakSecond(jittered.expiries)).toFixed(1)}%`);
  }
  if (longer > 0) throw new Error(`case 11c: ${longer} jittered access tokens outlive accessTokenTtl`);
  const peakGoal = { op: '<=' as const, value: 0.2, text: 'peak refreshes in one second, jitter ÷ none' };
  return [
    {
      id: '11c',
      case: `burst of ${count / 1000}k concurrent create(), Redis standalone, accessTokenTtlJitter ${JITTER}: share of the burst refreshing in the same second, jitter ÷ none`,
      ratio: median(peaks), ratioKind: 'peak share ÷ peak share', goal: peakGoal, status: judge(median(peaks), peakGoal),
      rounds: peaks,
      note: `peak share per round (none → jitter): ${notes.join(', ')}; jittered tokens living longer than accessTokenTtl: ${longer}`,
    },
    {
      id: '11c′',
      case: 'burst as 11c: create()/s with the jitter ÷ without (one Math.random per token; the burst is Redis-bound and noisy, so a report)',
      ratio: median(speed), ratioKind: 'ops/s ÷ ops/s', status: 'REPORT',
      rounds: speed,
    },
  ];
}

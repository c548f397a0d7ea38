/**
 * Case 13: the PostgreSQL store and broadcaster (@jwt-session/storage-postgres)
 * on a server of the bench's own (tools/pg-harness: a fresh cluster on a free
 * port, fsync off, loopback).
 *
 * 13a/13b: create() and update() with 64 calls in flight, each against its
 * floor: the design's own function (insert_session, rotate_session_v2) called
 * bare through the same pool, as the same named statement, with arguments
 * computed beforehand (no signing, hashing, checks or events): what any
 * implementation of this design pays the database. Interleaved rounds; the
 * floors are reported against `SELECT 1` through the same pool (one round
 * trip).
 * 13c: revocation A → B through LISTEN/NOTIFY between two processes
 * (children/node.ts, as case 7), with the raw pg_notify() → LISTEN floor.
 * 13d: bytes on disk per session (table and its indexes) at 100k sessions.
 */
import { randomBytes } from 'node:crypto';
import { startPostgres, type PostgresServer } from '@jwt-session/pg-harness';
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { PostgresRefreshTokenStore, migrate, schemaStats } from '@jwt-session/storage-postgres';
import pg from 'pg';
import { Child } from '../lib/child.js';
import { keySet, managerOptions, type KeySet } from '../lib/fixtures.js';
import { pairedRatio, pairedThroughput } from '../lib/measure.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';
import { clockOffset, latencyRow, rawFloor, stamp } from './propagation.js';

const IN_FLIGHT = 64;
const POOL_SIZE = 10;
const DAY = 86_400_000;
/** The claims and context of case 8c (issue 11's row). */
const CLAIMS = { roles: ['user'] };
const CONTEXT = { ip: '203.0.113.7' };

function pgManager(keys: KeySet, pool: pg.Pool, schema: string): JwtUserSessionManager {
  return new JwtUserSessionManager(managerOptions(keys, { refreshTokenStore: new PostgresRefreshTokenStore(pool, { schema }), invalidAccessTokenCache: new MemoryInvalidAccessTokenCache() }));
}

/** insert_session() bare: the store's statement text and name, arguments made from a counter (no hashing, no signing). */
function insertFloor(pool: pg.Pool, schema: string): () => Promise<unknown> {
  const tag = randomBytes(4).toString('hex');
  const claims = JSON.stringify(CLAIMS);
  const context = JSON.stringify(CONTEXT);
  let n = 0;
  return () => {
    const now = Date.now();
    const i = n++;
    return pool.query({
      name: 'bench_floor_insert',
      text: `SELECT "${schema}".insert_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12) AS evicted`,
      values: [now, null, 60_000, `${tag}${i.toString(36).padStart(22, '0')}`, `floor-${i % 10_000}`, `h${i}`, now, now + DAY, null, claims, context, 8],
    });
  };
}

/** rotate_session_v2() bare (the function the store calls since migration 2): each worker's chain of hashes made from counters, as case 13b's workers rotate their own sessions. */
async function rotateFloor(pool: pg.Pool, schema: string): Promise<(worker: number) => Promise<unknown>> {
  const tag = randomBytes(4).toString('hex');
  const step: number[] = [];
  for (let w = 0; w < IN_FLIGHT; w++) {
    const now = Date.now();
    await pool.query(`SELECT "${schema}".insert_session($1, NULL, 60000, $2, $3, $4, $1, $5, NULL, '{}'::jsonb, '{}'::jsonb, 8)`, [now, `${tag}w${w}`, `rot-${w}`, `${tag}-${w}-0`, now + DAY]);
    step.push(0);
  }
  return (w) => {
    const k = step[w]!++;
    return pool.query({
      name: 'bench_floor_rotate',
      text: `SELECT * FROM "${schema}".rotate_session_v2($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)`,
      values: [Date.now(), `${tag}w${w}`, `${tag}-${w}-${k}`, `${tag}-${w}-${k + 1}`, 0, null, null, null, true],
    });
  };
}

/** A pool on the bench's server; errors of idle connections are not the bench's to report. */
function benchPool(server: PostgresServer, max = POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({ connectionString: server.url, max });
  pool.on('error', () => undefined);
  return pool;
}

async function freshSchema(pool: pg.Pool): Promise<string> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  await migrate(pool, { schema });
  return schema;
}

async function writeRows(ctx: BenchContext, server: PostgresServer, keys: KeySet): Promise<Row[]> {
  const pool = benchPool(server);
  try {
    const schema = await freshSchema(pool);
    const manager = pgManager(keys, pool, schema);
    await manager.ready();
    let n = 0;
    const refresh: string[] = [];
    for (let w = 0; w < IN_FLIGHT; w++) refresh.push((await manager.create(`chain-${w}`)).refreshToken);
    const create = () => manager.create(`user-${n++ % 10_000}`, { claims: CLAIMS, context: CONTEXT });
    const update = async (w: number) => {
      refresh[w] = (await manager.update(refresh[w]!)).refreshToken;
    };
    const floorInsert = insertFloor(pool, schema);
    const floorRotate = await rotateFloor(pool, schema);
    const select1 = () => pool.query('SELECT 1');
    const ms = ctx.quick ? 150 : 600;
    ctx.log(`case 13a/b: create()/update() on PostgreSQL with ${IN_FLIGHT} in flight (pool of ${POOL_SIZE}) against the bare SQL (${ctx.rounds} rounds × 4 pairs × ${ms} ms)`);
    const res = await pairedThroughput(
      ctx,
      {
        '13a': { candidate: create, baseline: floorInsert },
        '13b': { candidate: update, baseline: floorRotate },
        '13a-floor': { candidate: floorInsert, baseline: select1 },
        '13b-floor': { candidate: floorRotate, baseline: select1 },
      },
      IN_FLIGHT,
      ms,
    );
    const rows: Row[] = [];
    const add = (id: string, op: string, fn: string) => {
      const m = res[id]!;
      const r = pairedRatio(m.candidate, m.baseline);
      const goal = { op: '>=' as const, value: 0.8, text: `${op} ops/s ÷ bare ${fn}() ops/s through the same pool` };
      rows.push({
        id, case: `${op}, PostgreSQL store, ${IN_FLIGHT} in flight, against its floor: ${fn}() called bare with precomputed arguments`,
        candidate: { label: op, value: median(m.candidate), unit: 'ops/s' },
        baseline: { label: `bare ${fn}()`, value: median(m.baseline), unit: 'ops/s' },
        ratio: r.median, ratioKind: 'ops/s ÷ floor ops/s', goal, status: judge(r.median, goal), rounds: r.rounds,
      });
      const f = res[`${id}-floor`]!;
      const fr = pairedRatio(f.candidate, f.baseline);
      rows.push({
        id: `${id}-floor`, case: `floor of ${op}: ${fn}() called bare (the store's statement, named, arguments precomputed), against SELECT 1 through the same pool`,
        candidate: { label: `bare ${fn}()`, value: median(f.candidate), unit: 'ops/s' },
        baseline: { label: 'SELECT 1', value: median(f.baseline), unit: 'ops/s' },
        ratio: fr.median, ratioKind: 'ops/s ÷ baseline ops/s', status: 'REPORT', rounds: fr.rounds,
      });
    };
    add('13a', 'create()', 'insert_session');
    add('13b', 'update()', 'rotate_session_v2');
    await manager.close();
    return rows;
  } finally {
    await pool.end();
  }
}

async function propagationRows(ctx: BenchContext, server: PostgresServer): Promise<Row[]> {
  const trials = ctx.quick ? 20 : 200;
  ctx.log(`case 13c: revocation A.deleteOne → B rejects through LISTEN/NOTIFY, ${trials} trials (two processes, one PostgreSQL)`);
  const pool = benchPool(server, 1);
  const schema = await freshSchema(pool);
  await pool.end();
  const a = new Child('node', [JSON.stringify({ role: 'a', databaseUrl: server.url, schema })]);
  const b = new Child('node', [JSON.stringify({ role: 'b', databaseUrl: server.url, schema })]);
  stamp(a);
  stamp(b);
  try {
    await Promise.all([a.next('ready', 60_000), b.next('ready', 60_000)]);
    const offA = await clockOffset(a);
    const offB = await clockOffset(b);
    const reject: number[] = [];
    const failures: string[] = [];
    const deleteCall: number[] = [];
    for (let i = 0; i < trials + 3; i++) {
      a.send({ type: 'create', subject: `prop-${i}` });
      const created = await a.next('created');
      b.send({ type: 'watch', token: created.accessToken, sessionId: created.sessionId });
      await b.next('watching');
      a.send({ type: 'delete', subject: `prop-${i}`, sessionId: created.sessionId });
      const [deleted, rejected] = await Promise.all([a.next('deleted'), b.next('rejected')]);
      if (i < 3) continue; // warm-up trials
      deleteCall.push((deleted.returned as number) - (deleted.t0 as number));
      if (rejected.ok !== true) failures.push(`trial ${i}: ${String(rejected.how)}`);
      else reject.push((rejected.t1 as number) - offB.offset - ((deleted.t0 as number) - offA.offset));
    }
    const rawLatency = await rawFloor(a, b, offA.offset, offB.offset, trials);
    const extra = { deleteOneCallP50: median(deleteCall), clockOffsetA: offA, clockOffsetB: offB };
    const row = latencyRow('13c', "B's read() rejects the token (PostgreSQL, LISTEN/NOTIFY)", reject, { trials, goalMs: 10, failures, extra });
    const raw = latencyRow('13c-floor', 'raw', rawLatency, { trials, goalMs: 10, failures: [], extra: {} });
    raw.goal = undefined;
    raw.status = 'REPORT';
    raw.case = `floor: raw pg_notify() through A's pool → the notification on B's LISTEN connection, same processes, no library (p99 ms; p50 ${median(rawLatency).toFixed(2)} ms)`;
    return [row, raw];
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

async function diskRow(ctx: BenchContext, server: PostgresServer, keys: KeySet): Promise<Row> {
  const sessions = ctx.quick ? 10_000 : 100_000;
  ctx.log(`case 13d: bytes on disk per session at ${sessions} sessions (one per subject, claims ${JSON.stringify(CLAIMS)}, context ${JSON.stringify(CONTEXT)})`);
  const pool = benchPool(server);
  try {
    const schema = await freshSchema(pool);
    const manager = pgManager(keys, pool, schema);
    await manager.ready();
    const empty = (await schemaStats(pool, { schema })).bytes.sessions;
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < sessions) await manager.create(`user-${next++}`, { claims: CLAIMS, context: CONTEXT });
      }),
    );
    await pool.query(`VACUUM ANALYZE "${schema}".sessions`);
    const stats = await schemaStats(pool, { schema });
    await manager.close();
    const perSession = (stats.bytes.sessions - empty) / stats.sessions.live;
    return {
      id: '13d', case: `PostgreSQL: bytes on disk per session at ${stats.sessions.live} sessions (sessions table + its indexes, pg_total_relation_size), one per subject, claims {roles:['user']}, context {ip}`,
      candidate: { label: 'on disk', value: perSession, unit: 'B/session' },
      ratio: perSession, ratioKind: 'absolute', status: 'REPORT',
      extra: { sessions: stats.sessions.live, tableBytes: stats.bytes.sessions, emptyBytes: empty, claims: CLAIMS, context: CONTEXT },
    };
  } finally {
    await pool.end();
  }
}

export async function runPostgres(ctx: BenchContext): Promise<Row[]> {
  const server = await startPostgres();
  try {
    const keys = keySet('HS256');
    return [...(await writeRows(ctx, server, keys)), ...(await propagationRows(ctx, server)), await diskRow(ctx, server, keys)];
  } finally {
    await server.stop();
  }
}

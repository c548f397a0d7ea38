/**
 * Case 7: propagation between two real processes on one Redis. Process A calls
 * deleteOne(); we measure until process B's read() rejects the (cached) token,
 * and until a Socket.IO client connected to B with that token sees its socket
 * disconnected. Absolute latencies on loopback; p50 and p99 over many trials.
 *
 * Clocks: every process stamps `performance.timeOrigin + performance.now()`.
 * The parent estimates each child's offset from its own clock (NTP-style, the
 * round trip with the smallest delay out of 25) and converts child stamps
 * onto its own timeline before subtracting.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { Child, type Message } from '../lib/child.js';
import { redisServer } from '../lib/redis.js';
import { median, percentile } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

export const now = (): number => performance.timeOrigin + performance.now();

export async function clockOffset(child: Child): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let i = 0; i < 25; i++) {
    const sent = now();
    child.send({ type: 'clock' });
    const reply = await child.next('clock');
    const received = reply.receivedAt as number;
    const rtt = received - sent;
    if (rtt < best.rtt) best = { offset: (reply.t as number) - (sent + received) / 2, rtt };
  }
  return best;
}

export function stamp(child: Child): void {
  child.onMessage = (m: Message) => {
    m.receivedAt = now();
  };
}

/** A latency row: p99 against `goalMs` (every trial must have been measured), p50 beside it. */
export function latencyRow(id: string, what: string, values: number[], o: { trials: number; goalMs: number; failures: string[]; extra: Record<string, unknown> }): Row {
  const p99 = values.length === o.trials ? percentile(values, 99) : Number.POSITIVE_INFINITY;
  const goal = { op: '<=' as const, value: o.goalMs, text: `p99 ms from deleteOne() on A to ${what}` };
  return {
    id, case: `propagation: deleteOne() on A → ${what} (p99 ms; p50 ${median(values).toFixed(2)} ms)`,
    candidate: { label: 'p50', value: median(values), unit: 'ms' },
    baseline: { label: 'p99', value: p99, unit: 'ms' },
    ratio: p99, ratioKind: 'absolute', goal, status: judge(p99, goal),
    ...(o.failures.length > 0 ? { note: `${o.failures.length} failed trials: ${o.failures.slice(0, 3).join('; ')}` } : {}),
    extra: { trials: o.trials, measured: values.length, p50: median(values), p90: percentile(values, 90), p99, max: Math.max(...values), ...o.extra },
  };
}

/**
 * The floor under a propagation case, in the same two processes: A writes
 * (`raw-add`), B's own connection receives it (`raw-watch` armed before A
 * writes); latencies in ms on the parent's clock, one warm-up first.
 */
export async function rawFloor(a: Child, b: Child, offsetA: number, offsetB: number, trials: number): Promise<number[]> {
  b.send({ type: 'raw-watch' });
  await b.next('raw-watching');
  a.send({ type: 'raw-add', n: -1 });
  await Promise.all([a.next('raw-added'), b.next('raw-read')]);
  const latencies: number[] = [];
  for (let i = 0; i < trials; i++) {
    b.send({ type: 'raw-watch' });
    await b.next('raw-watching');
    // Let B's read reach the server before A writes (a stream is read from its last id, a LISTEN is armed already: nothing is missed either way).
    await new Promise((resolve) => setTimeout(resolve, 1));
    a.send({ type: 'raw-add', n: i });
    const [added, read] = await Promise.all([a.next('raw-added'), b.next('raw-read')]);
    if (read.ok === true) latencies.push((read.t1 as number) - offsetB - ((added.t0 as number) - offsetA));
  }
  return latencies;
}

export async function runPropagation(ctx: BenchContext): Promise<Row[]> {
  const trials = ctx.quick ? 20 : 200;
  ctx.log(`case 7: propagation A.deleteOne → B rejects / B's socket disconnected, ${trials} trials (two processes, one Redis)`);
  const { url } = await redisServer();
  const a = new Child('node', [JSON.stringify({ role: 'a', redisUrl: url })]);
  const b = new Child('node', [JSON.stringify({ role: 'b', redisUrl: url })]);
  stamp(a);
  stamp(b);
  const sockets = new Set<Socket>();
  try {
    await a.next('ready', 60_000);
    const port = (await b.next('ready', 60_000)).port as number;
    const offA = await clockOffset(a);
    const offB = await clockOffset(b);
    const reject: number[] = [];
    const disconnect: number[] = [];
    const failures: string[] = [];
    const deleteCall: number[] = [];
    for (let i = 0; i < trials + 3; i++) {
      const subject = `prop-${i}`;
      a.send({ type: 'create', subject });
      const created = await a.next('created');
      b.send({ type: 'watch', token: created.accessToken, sessionId: created.sessionId });
      await b.next('watching');
      const socket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { token: created.accessToken }, reconnection: false, forceNew: true });
      sockets.add(socket);
      await new Promise<void>((resolve, reject_) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject_);
      });
      const gone = new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(Number.NaN), 5000);
        socket.once('disconnect', () => {
          clearTimeout(timer);
          resolve(now());
        });
      });
      a.send({ type: 'delete', subject, sessionId: created.sessionId });
      const [deleted, rejected, t2] = await Promise.all([a.next('deleted'), b.next('rejected'), gone]);
      socket.disconnect();
      sockets.delete(socket);
      if (i < 3) continue; // warm-up trials
      deleteCall.push((deleted.returned as number) - (deleted.t0 as number));
      const t0 = (deleted.t0 as number) - offA.offset;
      const t1 = (rejected.t1 as number) - offB.offset;
      if (rejected.ok !== true) failures.push(`trial ${i}: ${String(rejected.how)}`);
      else reject.push(t1 - t0);
      if (Number.isNaN(t2)) failures.push(`trial ${i}: socket not disconnected within 5 s`);
      else disconnect.push(t2 - t0);
    }
    const rows: Row[] = [];
    const extra = { deleteOneCallP50: median(deleteCall), deleteOneCallP99: percentile(deleteCall, 99), clockOffsetA: offA, clockOffsetB: offB };
    const make = (id: string, what: string, values: number[], goalMs: number): Row => latencyRow(id, what, values, { trials, goalMs, failures, extra });
    // The floor on this machine: the same two processes, one raw XADD (A) → XREAD BLOCK (B), no library code.
    const rawLatency = await rawFloor(a, b, offA.offset, offB.offset, trials);
    rows.push(make('7a', "B's read() rejects the token", reject, 5));
    rows.push(make('7b', "B's Socket.IO socket is disconnected", disconnect, 20));
    const raw = make('7c', 'B reads it (raw XADD → XREAD BLOCK, no library: the floor)', rawLatency, 5);
    raw.goal = undefined;
    raw.status = 'REPORT';
    raw.case = `floor: raw XADD on A → XREAD BLOCK on B returns, same processes, no library (p99 ms; p50 ${median(rawLatency).toFixed(2)} ms)`;
    rows.push(raw);
    return rows;
  } finally {
    for (const s of sockets) s.disconnect();
    await Promise.all([a.stop(), b.stop()]);
  }
}

/**
 * Case 6: Socket.IO handshakes per second (websocket transport, 50 in flight)
 * on a server with attachSessionGuard against the same server without a guard.
 * The servers run in a child process (children/sio-server.ts); the clients run
 * here (bare WebSockets), so client and server each have a core. Every handshake presents a token
 * the server has never seen (a full verification, the worst case for the guard).
 */
import { Child } from '../lib/child.js';
import { keySet, mintTokens } from '../lib/fixtures.js';
import { median } from '../lib/stats.js';
import { wsHandshake as handshake } from '../lib/ws-handshake.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

const IN_FLIGHT = 50;


export async function runSocketIo(ctx: BenchContext): Promise<Row[]> {
  const ms = ctx.quick ? 300 : 1500;
  ctx.log(`case 6: Socket.IO handshakes/s, ${IN_FLIGHT} in flight, guard vs no guard (${ctx.rounds} rounds × 2 × ${ms} ms, then two variants and the floor)`);
  const server = new Child('sio-server');
  try {
    const ready = await server.next('ready', 60_000);
    const ports = { guarded: ready.guarded as number, plain: ready.plain as number, deferred: ready.deferred as number, floor: ready.floor as number };
    const tokens = await mintTokens(keySet('HS256'), ctx.quick ? 5_000 : 80_000);
    let next = 0;
    const token = () => tokens[next++ % tokens.length]!;
    // The floor server keeps no cache: its own walk through the tokens leaves the guarded runs' count alone.
    let floorNext = 0;
    const floorToken = () => tokens[floorNext++ % tokens.length]!;
    const cpu = async () => {
      server.send({ type: 'cpu' });
      return (await server.next('cpu')).micros as number;
    };

    // `reuse`: each of the 50 clients presents its own token again and again (verified once, then cache hits).
    const run = async (port: number, duration: number, reuse = false, nextToken = token) => {
      const cpu0 = await cpu();
      let done = 0;
      const start = performance.now();
      const deadline = start + duration;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async (_, w) => {
          while (performance.now() < deadline) {
            await handshake(port, reuse ? tokens[w]! : nextToken());
            done++;
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      const cpu1 = await cpu();
      return { rate: done / seconds, cpuPerHandshake: (cpu1 - cpu0) / done };
    };

    // Warm-up, not timed: the guarded server's cost per handshake keeps falling for several seconds
    // (JIT of the verification path), which a short warm-up would charge to the first rounds.
    const warm = ctx.quick ? ms : 4 * ms;
    await run(ports.guarded, warm);
    await run(ports.plain, warm / 2);
    const g: { rate: number; cpuPerHandshake: number }[] = [];
    const p: { rate: number; cpuPerHandshake: number }[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      if (round % 2 === 0) {
        g.push(await run(ports.guarded, ms));
        p.push(await run(ports.plain, ms));
      } else {
        p.push(await run(ports.plain, ms));
        g.push(await run(ports.guarded, ms));
      }
    }
    // Variant: the same with tokens already verified (the guard's cost without a signature check).
    const gr: { rate: number; cpuPerHandshake: number }[] = [];
    const pr: { rate: number; cpuPerHandshake: number }[] = [];
    const variantMs = Math.round(ms / 2);
    for (let round = 0; round < ctx.rounds; round++) {
      if (round % 2 === 0) {
        gr.push(await run(ports.guarded, variantMs, true));
        pr.push(await run(ports.plain, variantMs, true));
      } else {
        pr.push(await run(ports.plain, variantMs, true));
        gr.push(await run(ports.guarded, variantMs, true));
      }
    }
    // Reference: a middleware that only defers next() by one event-loop turn, against no middleware.
    const dr: { rate: number; cpuPerHandshake: number }[] = [];
    const pd: { rate: number; cpuPerHandshake: number }[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      if (round % 2 === 0) {
        dr.push(await run(ports.deferred, variantMs, true));
        pd.push(await run(ports.plain, variantMs, true));
      } else {
        pd.push(await run(ports.plain, variantMs, true));
        dr.push(await run(ports.deferred, variantMs, true));
      }
    }
    // Floor: the least a guard can do (lib/floors.ts), new token each, against no guard. Row 6's line past this is past the machine.
    const fl: { rate: number; cpuPerHandshake: number }[] = [];
    const pf: { rate: number; cpuPerHandshake: number }[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      if (round % 2 === 0) {
        fl.push(await run(ports.floor, variantMs, false, floorToken));
        pf.push(await run(ports.plain, variantMs, false, floorToken));
      } else {
        pf.push(await run(ports.plain, variantMs, false, floorToken));
        fl.push(await run(ports.floor, variantMs, false, floorToken));
      }
    }
    if (next > tokens.length) ctx.log(`case 6: ${next} handshakes but ${tokens.length} tokens: some were cache hits`);
    const rounds = g.map((x, i) => x.rate / p[i]!.rate);
    const ratio = median(rounds);
    const cpuRatio = median(g.map((x, i) => x.cpuPerHandshake / p[i]!.cpuPerHandshake));
    // Issue 19 §4: the line is against the floor (each side ÷ its own unguarded rounds, same round index),
    // since on some machines the floor itself sits under the old 0.9× line against no guard.
    const floorRounds = rounds.map((x, i) => x / (fl[i]!.rate / pf[i]!.rate));
    const goal = { op: '>=' as const, value: 0.95, text: "handshakes/s with the guard ÷ the floor's (both ÷ no guard)" };
    return [
      {
        id: '6', case: `Socket.IO handshakes/s, websocket, ${IN_FLIGHT} in flight, attachSessionGuard (new token each), against the floor (6-floor)`,
        candidate: { label: 'guarded', value: median(g.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'floor', value: median(fl.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio: median(floorRounds), ratioKind: 'handshakes/s ÷ floor handshakes/s', goal, status: judge(median(floorRounds), goal), rounds: floorRounds,
        extra: { serverCpuMicrosGuarded: g.map((x) => x.cpuPerHandshake), serverCpuMicrosPlain: p.map((x) => x.cpuPerHandshake), cpuRatio, handshakes: next, tokens: tokens.length },
      },
      {
        id: '6-unguarded', case: `Socket.IO handshakes/s, as 6, against the same server without any guard`,
        candidate: { label: 'guarded', value: median(g.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'no guard', value: median(p.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio, ratioKind: 'handshakes/s ÷ baseline handshakes/s', status: 'REPORT', rounds,
      },
      {
        id: '6′', case: 'Socket.IO handshake: server CPU time per handshake, guard vs no guard (same runs as 6)',
        candidate: { label: 'guarded', value: median(g.map((x) => x.cpuPerHandshake)), unit: 'µs/op' },
        baseline: { label: 'no guard', value: median(p.map((x) => x.cpuPerHandshake)), unit: 'µs/op' },
        ratio: cpuRatio, ratioKind: 'CPU time ÷ baseline CPU time', status: 'REPORT', rounds: g.map((x, i) => x.cpuPerHandshake / p[i]!.cpuPerHandshake),
      },
      {
        id: '6″', case: `Socket.IO handshakes/s, as 6 but each client re-presents its own token (cache hits) — server CPU ${median(gr.map((x) => x.cpuPerHandshake)).toFixed(0)} vs ${median(pr.map((x) => x.cpuPerHandshake)).toFixed(0)} µs/handshake`,
        candidate: { label: 'guarded', value: median(gr.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'no guard', value: median(pr.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio: median(gr.map((x, i) => x.rate / pr[i]!.rate)), ratioKind: 'handshakes/s ÷ baseline handshakes/s', status: 'REPORT',
        rounds: gr.map((x, i) => x.rate / pr[i]!.rate),
        extra: { serverCpuMicrosGuarded: gr.map((x) => x.cpuPerHandshake), serverCpuMicrosPlain: pr.map((x) => x.cpuPerHandshake) },
      },
      {
        id: '6‴', case: `reference: no guard, only a middleware deferring next() by one event-loop turn (setImmediate) — server CPU ${median(dr.map((x) => x.cpuPerHandshake)).toFixed(0)} vs ${median(pd.map((x) => x.cpuPerHandshake)).toFixed(0)} µs/handshake`,
        candidate: { label: 'deferred', value: median(dr.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'no middleware', value: median(pd.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio: median(dr.map((x, i) => x.rate / pd[i]!.rate)), ratioKind: 'handshakes/s ÷ baseline handshakes/s', status: 'REPORT',
        rounds: dr.map((x, i) => x.rate / pd[i]!.rate),
        extra: { serverCpuMicrosDeferred: dr.map((x) => x.cpuPerHandshake), serverCpuMicrosPlain: pd.map((x) => x.cpuPerHandshake) },
      },
      {
        id: '6-floor', case: `floor: the least a guard can do (one HMAC check, payload parsed, user and session rooms joined; bench/lib/floors.ts), new token each, vs no guard — server CPU ${median(fl.map((x) => x.cpuPerHandshake)).toFixed(0)} vs ${median(pf.map((x) => x.cpuPerHandshake)).toFixed(0)} µs/handshake`,
        candidate: { label: 'floor', value: median(fl.map((x) => x.rate)), unit: 'handshakes/s' },
        baseline: { label: 'no guard', value: median(pf.map((x) => x.rate)), unit: 'handshakes/s' },
        ratio: median(fl.map((x, i) => x.rate / pf[i]!.rate)), ratioKind: 'handshakes/s ÷ baseline handshakes/s', status: 'REPORT',
        rounds: fl.map((x, i) => x.rate / pf[i]!.rate),
        extra: { serverCpuMicrosFloor: fl.map((x) => x.cpuPerHandshake), serverCpuMicrosPlain: pf.map((x) => x.cpuPerHandshake) },
      },
    ];
  } finally {
    await server.stop();
  }
}

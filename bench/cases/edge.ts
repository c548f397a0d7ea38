/**
 * Case 14: revocation at the edge. A Node origin (manager, MemoryBroadcaster,
 * `GET /auth/revocations` of @jwt-session/http) revokes a session; we time
 * until a Worker on workerd — the runtime matrix's own Worker, which follows
 * the log with PollingInvalidationBroadcaster (`timers: false`, 1 s interval)
 * — refuses the token. The client asks the Worker back to back, as a busy
 * Worker is asked; a random pause before each revocation puts it anywhere in
 * the poll cycle. When workerd cannot be installed (the runtime matrix's
 * installer), the same broadcaster runs in this Node process on its timer,
 * and the row says so.
 *
 * Also the cost of an idle origin: polls per second per Worker, and the bytes
 * of one 304 exchange (request and answer, as on the wire).
 */
import { sessionRouter } from '@jwt-session/http';
import { JwtSessionVerifier, JwtUserSessionManager, PollingInvalidationBroadcaster } from '@jwt-session/session-core';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error -- a plain .mjs module of the repository's scripts, without types
import { install, loadEsbuild, workerBuild, workerdConfig } from '../../scripts/lib/runtimes.mjs';
import { median, percentile } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const INTERVAL = 1000;
const KEY = { kid: 'k1', algorithm: 'HS256' as const, secret: 'a-runtime-matrix-secret-of-at-least-32-bytes' };
const ISSUER = 'https://auth.test';
const AUDIENCE = 'https://api.test';
const LOG_SECRET = 'bench-edge-revocation-log-secret-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Bytes of one conditional poll on the wire: the request as a poller sends it, and the 304. */
function exchangeBytes(port: number, after: string): Promise<{ request: number; response: number; status: string }> {
  return new Promise((resolve, reject) => {
    const request = `GET /auth/revocations?after=${after} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${LOG_SECRET}\r\naccept: application/json\r\nif-none-match: "${after}"\r\nconnection: keep-alive\r\n\r\n`;
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n\r\n')) {
        socket.destroy();
        resolve({ request: Buffer.byteLength(request), response: Buffer.byteLength(answer, 'latin1'), status: answer.slice(0, answer.indexOf('\r\n')) });
      }
    });
    socket.on('error', reject);
  });
}

interface Edge {
  where: string;
  /** Resolves true when the edge refuses the token (ERR_SESSION_REVOKED), false while it accepts it. */
  refuses(token: string): Promise<boolean>;
  close(): Promise<void>;
}

async function workerdEdge(bin: string, originPort: number): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-session-edge-'));
  const esbuild = await loadEsbuild(root);
  await esbuild.build(workerBuild(join(root, 'tools', 'runtime-matrix', 'src'), join(dir, 'worker.mjs')));
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  writeFileSync(
    join(dir, 'config.capnp'),
    workerdConfig(port, { SECRET: KEY.secret, REVOCATIONS_URL: `http://127.0.0.1:${originPort}/auth/revocations`, REVOCATIONS_SECRET: LOG_SECRET, POLL_INTERVAL: String(INTERVAL) }),
  );
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.capnp')], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`${url}/edge/verify?token=x`);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('workerd did not listen within 10 s');
      await sleep(50);
    }
  }
  return {
    where: 'workerd',
    async refuses(token) {
      const res = await fetch(`${url}/edge/verify?token=${token}`);
      const body = (await res.json()) as { code?: string };
      if (res.status === 503) throw new Error(`the Worker could not read the log: ${body.code}`);
      return res.status === 401 && body.code === 'ERR_SESSION_REVOKED';
    },
    async close() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function nodeEdge(originPort: number): Promise<Edge> {
  const broadcaster = new PollingInvalidationBroadcaster({ url: `http://127.0.0.1:${originPort}/auth/revocations`, secret: LOG_SECRET, interval: INTERVAL });
  const cache = new MemoryInvalidAccessTokenCache();
  const verifier = new JwtSessionVerifier({ keys: KEY, issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: cache, broadcaster });
  await verifier.ready();
  return {
    where: 'Node (workerd not installed)',
    refuses: (token) => verifier.read(token).then(() => false, (error: { code?: string }) => error.code === 'ERR_SESSION_REVOKED'),
    async close() {
      await verifier.close();
      await broadcaster.close();
      cache.close();
    },
  };
}

export async function runEdge(ctx: BenchContext): Promise<Row[]> {
  const trials = ctx.quick ? 10 : 50;
  const store = new MemoryRefreshTokenStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const hub = new MemoryBroadcaster();
  const manager = new JwtUserSessionManager({ keys: KEY, issuer: ISSUER, audience: AUDIENCE, refreshTokenStore: store, invalidAccessTokenCache: cache, broadcaster: hub });
  let polls = 0;
  const router = sessionRouter(manager, { revocations: { broadcaster: hub, secret: LOG_SECRET } });
  const origin = createServer((req, res) => {
    if (req.url?.startsWith('/auth/revocations')) polls++;
    router(req, res, () => void res.writeHead(404).end());
  });
  const originPort = await listen(origin);
  const found = install() as Record<string, string | { reason: string }>;
  const workerd = found.workerd;
  let edge: Edge | undefined;
  try {
    edge = typeof workerd === 'string' ? await workerdEdge(workerd, originPort) : await nodeEdge(originPort);
    ctx.log(`case 14: revocation at the edge (${edge.where}), ${trials} trials at a ${INTERVAL} ms poll interval`);
    const latencies: number[] = [];
    const failures: string[] = [];
    for (let i = 0; i < trials; i++) {
      const subject = `edge-${i}`;
      const s = await manager.create(subject);
      if (await edge.refuses(s.accessToken)) failures.push(`trial ${i}: refused before the revocation`);
      // Anywhere in the poll cycle.
      await sleep(Math.random() * INTERVAL);
      const t0 = performance.now();
      await manager.deleteOne(subject, s.sessionId);
      let refused = false;
      while (!refused && performance.now() - t0 < 5 * INTERVAL) refused = await edge.refuses(s.accessToken);
      if (refused) latencies.push(performance.now() - t0);
      else failures.push(`trial ${i}: still accepted after ${5 * INTERVAL} ms`);
    }
    // The idle cost: polls reaching the origin over 5 s of nobody asking the Worker anything but verification.
    const idleFrom = polls;
    const t0 = performance.now();
    while (performance.now() - t0 < 5000) {
      await edge.refuses('e30.e30.e30');
      await sleep(20);
    }
    const pollsPerSecond = (polls - idleFrom) / ((performance.now() - t0) / 1000);
    const cursor = (await (await fetch(`http://127.0.0.1:${originPort}/auth/revocations`, { headers: { authorization: `Bearer ${LOG_SECRET}` } })).json()) as { next: string };
    const bytes = await exchangeBytes(originPort, cursor.next);
    const p99 = latencies.length === trials ? percentile(latencies, 99) : Number.POSITIVE_INFINITY;
    const goal = { op: '<=' as const, value: INTERVAL + 100, text: `p99 ms from deleteOne() at the origin to the ${edge.where === 'workerd' ? 'Worker' : 'Node verifier'} refusing the token; interval ${INTERVAL} ms + 100 ms` };
    return [
      {
        id: '14',
        case: `edge: deleteOne() at the origin → ${edge.where === 'workerd' ? 'a Worker on workerd' : 'a verifier in Node (workerd not installed)'} polling GET /auth/revocations every ${INTERVAL} ms refuses the token (p99 ms; p50 ${median(latencies).toFixed(0)} ms)`,
        candidate: { label: 'p50', value: median(latencies), unit: 'ms' },
        baseline: { label: 'p99', value: p99, unit: 'ms' },
        ratio: p99,
        ratioKind: 'absolute',
        goal,
        status: judge(p99, goal),
        note: `idle origin: ${pollsPerSecond.toFixed(2)} polls/s per polling ${edge.where === 'workerd' ? 'Worker' : 'verifier'}; one 304 exchange ${bytes.request} B request + ${bytes.response} B answer${failures.length > 0 ? `; ${failures.length} failed trials: ${failures.slice(0, 3).join('; ')}` : ''}`,
        extra: { where: edge.where, trials, measured: latencies.length, p50: median(latencies), p90: percentile(latencies, 90), p99, max: Math.max(...latencies), pollsPerSecond, bytes },
      },
    ];
  } finally {
    await edge?.close();
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
    await manager.close();
    await store.close();
    cache.close();
  }
}

#!/usr/bin/env node
// The runtime matrix: what the README promises beyond Node, run for real.
//   - Bun and Deno: the session lifecycle on memory and on Redis (two
//     managers, a revocation on one refused on the other; a redis-server this
//     script starts on a free port);
//   - Bun: the Socket.IO guard with a real socket.io-client;
//   - workerd (Cloudflare Workers' runtime): JwtSessionVerifier and the Hono
//     guard in a Worker, asked over HTTP by a Node client holding the issuer;
//     and a Worker following the Node origin's revocation log
//     (PollingInvalidationBroadcaster) refusing a token revoked there.
// The runtimes come from npm only (the `bun`, `deno` and `workerd` packages,
// whose binaries ship inside registry packages), installed into a cache
// outside the repository (JWT_SESSION_RUNTIMES_DIR, default
// ~/.cache/jwt-session-runtimes) and reused while the pinned ranges hold.
// The scenarios (tools/runtime-matrix/src) are bundled from the workspace
// sources with esbuild, so no build step runs first and each runtime gets one
// self-contained file: the code a user's bundler would ship.
//
// A runtime that cannot be installed gets ONE line. It counts as a failure on
// a platform its npm package supports (linux, macOS and Windows on x64/arm64:
// then it should have installed), and as not run elsewhere. A missing
// redis-server (preflight installs it) fails the Redis checks.
// Prints one line per check and closes with "N passed, N failed".
// Usage: node scripts/runtimes.mjs [--install]   (--install: only install, for preflight)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis } from './lib/redis-server.mjs';
import { PUBLISHED, install, loadEsbuild, workerBuild, workerdConfig } from './lib/runtimes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scenarios = join(root, 'tools', 'runtime-matrix', 'src');
const platform = `${process.platform}-${process.arch}`;
const started = Date.now();

let passed = 0;
let failed = 0;
const line = (ok, text) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? '  ok    ' : '  FAIL  '}${text}`);
};

/** One line per runtime that could not be installed; true when that is a failure here. */
function reportMissing(found) {
  let fatal = false;
  for (const [name, value] of Object.entries(found)) {
    if (typeof value === 'string') continue;
    const expected = PUBLISHED.has(platform);
    console.log(`runtimes: ${name} could not be installed from npm (${value.reason})${expected ? '' : `; not published for ${platform}, its checks are not run`}`);
    if (expected) fatal = true;
  }
  return fatal;
}

if (process.argv.includes('--install')) {
  process.exitCode = reportMissing(install()) ? 1 : 0;
} else {
  await main();
}

function reachable(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Until `port` accepts a connection, or `child` exits, or `ms` pass. */
async function waitFor(port, child, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    if (await reachable(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Runs a child to completion (bounded), collecting stdout; stderr shown only on failure. */
function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000);
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', (error) => (err += String(error)));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err })));
  });
}

/** Counts the scenario's `ok …` / `FAIL …` lines; a crash or a silent exit is a failure too. */
function tally(label, result, expected) {
  const lines = result.out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
  for (const l of lines) line(l.startsWith('ok '), `${label}: ${l.replace(/^(ok|FAIL) /, '')}`);
  if (result.code !== 0 || lines.length < expected) {
    line(false, `${label}: exited ${result.code} after ${lines.length} of ${expected} checks${result.err.trim() ? `\n        ${result.err.trim().split('\n').slice(-5).join('\n        ')}` : ''}`);
  }
}

async function bundle(dir) {
  const esbuild = await loadEsbuild(root);
  // CommonJS dependencies (ioredis, socket.io) call require(): give the ESM bundle one.
  const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
  const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'silent', absWorkingDir: scenarios };
  const t0 = Date.now();
  await Promise.all([
    esbuild.build({ ...common, entryPoints: [join(scenarios, 'lifecycle.ts')], outfile: join(dir, 'lifecycle.mjs'), platform: 'node', banner }),
    esbuild.build({ ...common, entryPoints: [join(scenarios, 'socketio.ts')], outfile: join(dir, 'socketio.mjs'), platform: 'node', banner }),
    esbuild.build({ ...common, entryPoints: [join(scenarios, 'worker-driver.ts')], outfile: join(dir, 'worker-driver.mjs'), platform: 'node', banner }),
    esbuild.build(workerBuild(scenarios, join(dir, 'worker.mjs'))),
  ]);
  return Date.now() - t0;
}

async function main() {
  const found = install();
  const fatal = reportMissing(found);
  if (fatal) failed += Object.values(found).filter((v) => typeof v !== 'string').length;
  const dir = mkdtempSync(join(tmpdir(), 'jwt-session-runtimes-'));
  const children = [];
  try {
    const ms = await bundle(dir);
    console.log(`runtimes: bundled 4 scenarios in ${ms} ms`);

    let redisUrl;
    try {
      const redis = await startRedis();
      children.push(redis.child);
      redisUrl = redis.url;
    } catch (error) {
      line(false, `${error.message} (preflight installs it): the Redis checks are not run`);
    }

    const env = { ...process.env, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
    const lifecycleChecks = redisUrl ? 2 : 1;
    const jobs = [];
    if (typeof found.bun === 'string') {
      jobs.push(run(found.bun, ['run', join(dir, 'lifecycle.mjs')], { env }).then((r) => ['Bun', r, lifecycleChecks]));
      jobs.push(run(found.bun, ['run', join(dir, 'socketio.mjs')], { env }).then((r) => ['Bun', r, 1]));
    }
    if (typeof found.deno === 'string') {
      jobs.push(run(found.deno, ['run', '--allow-all', '--no-prompt', join(dir, 'lifecycle.mjs')], { env: { ...env, DENO_NO_UPDATE_CHECK: '1' } }).then((r) => ['Deno', r, lifecycleChecks]));
    }
    if (typeof found.workerd === 'string') {
      jobs.push(
        (async () => {
          const port = await freePort();
          const originPort = await freePort();
          writeFileSync(
            join(dir, 'config.capnp'),
            workerdConfig(port, {
              SECRET: 'a-runtime-matrix-secret-of-at-least-32-bytes',
              REVOCATIONS_URL: `http://127.0.0.1:${originPort}/auth/revocations`,
              REVOCATIONS_SECRET: 'runtime-matrix-revocation-log-secret-0123456789',
              POLL_INTERVAL: '200',
            }),
          );
          const workerd = spawn(found.workerd, ['serve', join(dir, 'config.capnp')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
          children.push(workerd);
          let err = '';
          workerd.stderr.on('data', (chunk) => (err += chunk));
          if (!(await waitFor(port, workerd, 10_000))) return ['workerd', { code: workerd.exitCode ?? 1, out: '', err: err || 'did not listen within 10 s' }, 3];
          const r = await run(process.execPath, [join(dir, 'worker-driver.mjs')], { env: { ...env, WORKER_URL: `http://127.0.0.1:${port}`, ORIGIN_PORT: String(originPort) } });
          return ['workerd', { ...r, err: r.err + err }, 3];
        })(),
      );
    }
    for (const [label, result, expected] of await Promise.all(jobs)) tally(label, result, expected);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`runtimes: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

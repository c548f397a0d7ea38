#!/usr/bin/env node
// The outside-the-workspace check (issue 9): does what a user does. Packs every
// public package (pnpm pack, which builds dist/ on prepack), installs the
// tarballs with plain npm into a new app in the OS temp directory (no
// --legacy-peer-deps; any peer warning or ERESOLVE fails the run), once with
// ioredis 6 and once with ioredis 5, and runs there:
//   - consumer/app.mjs: plain-JS ESM (session lifecycle and reuse detection,
//     Express httpAuth over HTTP, Socket.IO guard with a real client, two
//     copies of session-core, three managers on a real redis-server);
//   - consumer/require.cjs: CommonJS require() of every entry;
//   - tsc --noEmit on consumer/consumer.ts (strict, exactOptionalPropertyTypes,
//     skipLibCheck: false).
// Then every `npm install @jwt-session/…` line of the READMEs is installed
// (our packages from the tarballs) in an empty app: no peer warning, and the
// main entries of our packages on it type-check with only what it installs.
// Prints one line per check and closes with "N passed, N failed" (which
// scripts/test.mjs adds to its own total). Usage:
//   node scripts/consumer-check.mjs [--ioredis 6,5] [--keep]
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'scripts', 'consumer');
const args = process.argv.slice(2);
const majors = (args.includes('--ioredis') ? args[args.indexOf('--ioredis') + 1] : '6,5').split(',');
const keep = args.includes('--keep');

// What a user installs next to our packages. Majors only: npm picks today's
// release, as it would for a user.
const PEERS = ['socket.io@4', 'socket.io-client@4', 'express@5', 'fastify@5'];
const TOOLS = ['typescript@~5.9.3', '@types/node@20', '@types/express@5'];

let passed = 0;
let failed = 0;
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'jwt-session-consumer-'));
let redis;

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function result(ok, label, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? '  ok    ' : '  FAIL  '}${label}${detail ? `\n${detail.replace(/^/gm, '        ')}` : ''}`);
}

/**
 * Runs a command; resolves with its exit code and combined output (never
 * rejects). Killed after `timeout` ms (default 10 min), so a hang (ioredis 6
 * once made ready() wait forever) fails the check instead of the test command.
 */
function run(command, commandArgs, options = {}) {
  const { timeout = 600_000, ...spawnOptions } = options;
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...spawnOptions.env } });
    let output = '';
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeout / 1000} s)`;
      child.kill('SIGKILL');
    }, timeout);
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => (clearTimeout(timer), resolve({ code: 127, output: `${output}${error.message}` })));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code: code ?? 1, output })));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failedToStart = new Promise((resolve) => child.once('error', (error) => resolve(error)));
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const error = await Promise.race([failedToStart, new Promise((resolve) => setTimeout(() => resolve(undefined), 50))]);
    if (error) throw new Error(`redis-server could not start: ${error.message}`);
    if (await ping(port)) return { child, url: `redis://127.0.0.1:${port}` };
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING within 10 s');
}

function cleanup() {
  if (redis) redis.child.kill('SIGKILL');
  redis = undefined;
  if (!keep) rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => (cleanup(), process.exit(130)));
process.on('SIGTERM', () => (cleanup(), process.exit(143)));

/** One "ok - …" / "not ok - …" line per check, as the fixtures print them. */
function countLines(output) {
  let seen = 0;
  for (const line of output.split('\n')) {
    const m = /^(ok|not ok) - (.*)$/.exec(line);
    if (m) {
      seen++;
      result(m[1] === 'ok', m[2]);
    } else if (line.startsWith('#')) console.log(`        ${line}`);
  }
  return seen;
}

async function pack() {
  console.log('\n--- pack (pnpm pack; prepack builds dist/)');
  const since = Date.now();
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  const packages = readdirSync(join(root, 'packages')).filter((name) => {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
    return manifest.private !== true;
  });
  // In parallel: each pack runs its package's prepack (tsc), the slow part.
  const packed = await Promise.all(packages.map(async (name) => ({ name, ...(await run('pnpm', ['pack', '--pack-destination', dest], { cwd: join(root, 'packages', name) })) })));
  const tarballs = [];
  for (const { name, code, output } of packed) {
    const file = readdirSync(dest).find((f) => f.startsWith(`jwt-session-${name}-`) && f.endsWith('.tgz'));
    result(code === 0 && file !== undefined, `pnpm pack ${name}${file ? ` → ${file}` : ''}`, code === 0 ? '' : output.trim());
    if (file) tarballs.push(join(dest, file));
  }
  console.log(`        packing took ${seconds(since)}`);
  return tarballs;
}

/** Every `npm install …` line of the READMEs that names one of our packages: what a reader copies. */
function readmeInstallLines() {
  const files = [join(root, 'README.md'), ...readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'README.md'))];
  const lines = new Set();
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/`(npm install [^`]+)`|^(npm install .+)$/gm)) {
      const line = (m[1] ?? m[2]).replace(/#.*$/, '').trim();
      if (line.includes('@jwt-session/')) lines.add(line);
    }
  }
  // The same packages in another order install the same tree: keep one.
  const seen = new Set();
  return [...lines].filter((line) => {
    const key = line.split(/\s+/).sort().join(' ');
    return !seen.has(key) && seen.add(key);
  });
}

/** The @jwt-session packages `names` need at run time (dependencies and required peers), transitively. */
function closure(names) {
  const manifests = new Map(
    readdirSync(join(root, 'packages')).map((dir) => {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
      return [manifest.name, manifest];
    }),
  );
  const found = new Set(names);
  for (const name of found) {
    const manifest = manifests.get(name);
    if (!manifest) continue;
    const optional = manifest.peerDependenciesMeta ?? {};
    for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}).filter((peer) => !optional[peer]?.optional)]) {
      if (dep.startsWith('@jwt-session/')) found.add(dep);
    }
  }
  return [...found];
}

/**
 * Each README install line, with our packages taken from the tarballs, must
 * install with no peer warning, and the main entry of each of our packages on
 * it must type-check (strict, skipLibCheck: false) with only what the line
 * installs: an optional peer (fastify, uvu) must not be needed by a main entry.
 */
async function installLines(tarballs, tsc) {
  console.log('\n--- README install lines (each in an empty app, + @types/node for the type check)');
  const since = Date.now();
  const lines = readmeInstallLines();
  if (!tsc) return result(false, 'README install lines', 'no TypeScript compiler: the app installs above failed');
  const outcomes = await Promise.all(
    lines.map(async (line, index) => {
      const app = join(work, `install-line-${index}`);
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-line', private: true, type: 'module' }));
      // Flags (-g for the CLI) are dropped: the check installs into the app either way.
      const words = line.split(/\s+/).slice(2).filter((word) => !word.startsWith('-'));
      const ours = words.filter((spec) => /^@jwt-session\/[a-z-]+$/.test(spec));
      // Our packages are not on the registry: the ones those on the line depend on come from tarballs too.
      const needed = closure(ours).filter((name) => !ours.includes(name));
      const tarballOf = (name) => tarballs.find((t) => t.includes(`jwt-session-${name.slice('@jwt-session/'.length)}-`)) ?? name;
      const specs = [...words.map((spec) => (ours.includes(spec) ? tarballOf(spec) : spec)), ...needed.map(tarballOf)];
      const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', '--prefer-offline', ...specs, '@types/node@20'], { cwd: app });
      if (install.code !== 0) return { line, install };
      writeFileSync(join(app, 'check.ts'), `${ours.map((name, i) => `import * as m${i} from '${name}';`).join('\n')}\nexport const entries = [${ours.map((_, i) => `m${i}`).join(', ')}];\n`);
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true }, files: ['check.ts'] }));
      // The consumer app's compiler: resolution starts from check.ts, so only this app's node_modules count.
      const typecheck = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
      return { line, install, tsc: typecheck };
    }),
  );
  for (const { line, install, tsc } of outcomes) {
    const trouble = install.output.split('\n').filter((l) => /ERESOLVE|\bpeer\b/i.test(l));
    result(install.code === 0 && trouble.length === 0, `${line}: no peer warning`, install.code === 0 && trouble.length === 0 ? '' : trouble.join('\n') || install.output.trim());
    if (tsc) result(tsc.code === 0, `${line}: main entries type-check with skipLibCheck: false`, tsc.code === 0 ? '' : tsc.output.trim());
  }
  if (lines.length === 0) result(false, 'README install lines found', 'no `npm install @jwt-session/…` line in any README');
  console.log(`        took ${seconds(since)}`);
}

/** Resolves with the path of the app's TypeScript compiler once installed, else undefined. */
async function consumerRun(major, tarballs) {
  console.log(`\n--- app with ioredis ${major} (npm install into ${tmpdir()})`);
  const app = mkdtempSync(join(work, `app-ioredis${major}-`));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2));
  for (const file of ['app.mjs', 'require.cjs', 'consumer.ts', 'tsconfig.json']) copyFileSync(join(fixtures, file), join(app, file));

  let since = Date.now();
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', ...tarballs, `ioredis@${major}`, ...PEERS, ...TOOLS], { cwd: app });
  const peerTrouble = install.output.split('\n').filter((line) => /ERESOLVE|\bpeer\b/i.test(line));
  result(install.code === 0, `npm install (tarballs + ioredis@${major} + ${PEERS.join(' ')}) in ${seconds(since)}`, install.code === 0 ? '' : install.output.trim());
  result(peerTrouble.length === 0, 'npm printed no peer warning and no ERESOLVE', peerTrouble.join('\n'));
  if (install.code !== 0) return undefined;

  // The type check does not depend on the scripts: run it alongside them.
  since = Date.now();
  const typecheck = run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app }).then((r) => ({ ...r, took: seconds(since) }));
  const esm = await run(process.execPath, ['app.mjs'], { cwd: app, env: { REDIS_URL: redis?.url ?? '' }, timeout: 180_000 });
  if (countLines(esm.output) === 0 || (esm.code !== 0 && !/^not ok/m.test(esm.output))) result(false, 'app.mjs ran to the end', esm.output.trim());
  console.log(`        app.mjs took ${seconds(since)}`);

  const cjs = await run(process.execPath, ['require.cjs'], { cwd: app, timeout: 60_000 });
  if (countLines(cjs.output) === 0 || (cjs.code !== 0 && !/^not ok/m.test(cjs.output))) result(false, 'require.cjs ran to the end', cjs.output.trim());

  const tsc = await typecheck;
  result(tsc.code === 0, `tsc --noEmit consumer.ts (strict, exactOptionalPropertyTypes, skipLibCheck: false) in ${tsc.took}`, tsc.code === 0 ? '' : tsc.output.trim());
  return join(app, 'node_modules', 'typescript', 'bin', 'tsc');
}

try {
  console.log(`consumer check: node ${process.version}, npm ${(await run('npm', ['--version'])).output.trim()}, work dir ${work}`);
  const tarballs = await pack();
  try {
    redis = await startRedis();
    console.log(`  redis-server on ${redis.url}`);
  } catch (error) {
    result(false, 'start redis-server', error.message);
  }
  if (tarballs.length > 0) {
    let tsc;
    for (const major of majors) tsc = (await consumerRun(major, tarballs)) ?? tsc;
    await installLines(tarballs, tsc);
  }
} catch (error) {
  result(false, 'consumer check crashed', error.stack ?? String(error));
} finally {
  cleanup();
}
console.log(`\nconsumer check took ${Math.round((Date.now() - started) / 1000)} s${keep ? `, kept ${work}` : ''}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

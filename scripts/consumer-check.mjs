#!/usr/bin/env node
// The outside-the-workspace check: does what a user does. Packs every public
// package (pnpm pack, which builds dist/ on prepack), installs the tarballs
// with plain npm into a new app in the OS temp directory (no
// --legacy-peer-deps), once with ioredis 6 and once with ioredis 5, and runs
// there:
//   - consumer/app.mjs: plain-JS ESM (session lifecycle and reuse detection,
//     Express httpAuth over HTTP, Socket.IO guard with a real client, two
//     copies of session-core, three managers on a real redis-server, two on a
//     real PostgreSQL);
//   - consumer/require.cjs: CommonJS require() of every entry;
//   - tsc --noEmit on consumer/consumer.ts (strict, exactOptionalPropertyTypes,
//     skipLibCheck: false), under TypeScript 5.9 and 7.
// Then every `npm install @jwt-session/…` line of the READMEs is installed
// (our packages from the tarballs) in an empty app: no peer warning, and the
// main entries of our packages on it type-check with only what it installs.
//
// Two passes, so that only this project's code decides the verdict:
//   - pinned: every app is installed with `npm ci` from a lock recorded in
//     scripts/consumer/pins (the set known good). Same commit, same verdict,
//     whatever the registry serves on the day. Anything wrong fails.
//   - newest: `npm install` of the newest release of every supported major,
//     as a user gets today. A diagnostic inside a dependency's own files (not
//     in our declarations, nor in the consumer's source) and a peer warning
//     that names none of our packages print one `warn` line each and do not
//     fail (see consumer/diagnostics.mjs); everything else, and every runtime
//     check, fails. `--strict` (`pnpm test:latest`) makes the warnings fail.
// A self-test first shows the sorting on two fake apps: a broken declaration
// in a dependency is a warning, a broken declaration of ours a failure.
//
// Prints one line per check and closes with "N passed, N failed" (which
// scripts/test.mjs adds to its own total). Usage:
//   node scripts/consumer-check.mjs [--pass pinned|newest|both] [--strict]
//                                   [--ioredis 6,5] [--keep]
//   node scripts/consumer-check.mjs --pin [name@x.y.z …]
//     records today's newest set as the pins, with the exact versions named
//     in place of the newest of their major (a known-good set: the recorded
//     run must pass without warnings, or nothing is written).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyDiagnostics, classifyNpmWarnings, warningLine } from './consumer/diagnostics.mjs';
import { startRedis } from './lib/redis-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'scripts', 'consumer');
const pinsDir = join(fixtures, 'pins');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const majors = option('--ioredis', '6,5').split(',');
const keep = args.includes('--keep');
const strict = args.includes('--strict');
const pinning = args.includes('--pin');
// `--pin ioredis@6.0.0 …`: exact versions to record instead of the newest
// release of their major (the newest may be the broken one).
const pinOverrides = pinning ? args.slice(args.indexOf('--pin') + 1).filter((word) => /^@?[^@\s]+@\d+\.\d+\.\d+/.test(word)) : [];
const passes = pinning ? ['newest'] : { pinned: ['pinned'], newest: ['newest'], both: ['pinned', 'newest'] }[option('--pass', 'both')];
if (!passes) {
  console.error('usage: consumer-check.mjs [--pass pinned|newest|both] [--strict] [--ioredis 6,5] [--keep] | --pin');
  process.exit(2);
}

// What a user installs next to our packages, by supported major: the newest
// pass takes today's release of each, the pins record exact versions.
const PEERS = ['socket.io@4', 'socket.io-client@4', 'express@5', 'fastify@5', 'pg@8', 'hono@4', '@nestjs/common@12', '@nestjs/core@12', '@nestjs/platform-socket.io@12'];
const TOOLS = ['typescript@~5.9.3', 'typescript7@npm:typescript@7', '@types/node@20', '@types/express@5', '@types/pg@8'];
const COMPILERS = [
  ['TypeScript 5.9', 'typescript'],
  ['TypeScript 7', 'typescript7'],
];

let passed = 0;
let failed = 0;
const warnings = [];
const pinned = [];
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'jwt-session-consumer-'));
let redis;
let postgres;

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function result(ok, label, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? '  ok    ' : '  FAIL  '}${label}${detail && !ok ? `\n${detail.replace(/^/gm, '        ')}` : ''}`);
}

/** A dependency's own fault: a warning line, or a failure under --strict. */
function warn(label) {
  if (warnings.includes(label)) return; // the same package under both compilers
  warnings.push(label);
  if (strict) return result(false, `${label} (--strict: warnings fail)`);
  console.log(`  warn  ${label}`);
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

const npm = (cwd, ...npmArgs) => run('npm', [...npmArgs, '--no-audit', '--no-fund', '--loglevel=warn'], { cwd });
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

function cleanup() {
  if (redis) redis.child.kill('SIGKILL');
  redis = undefined;
  postgres?.kill().catch(() => undefined);
  postgres = undefined;
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

/**
 * Packs every public package. Resolves with a map from package name to a
 * tarball under a fixed file name (no version), so that the pins' locks can
 * name it (`file:tarballs/session-core.tgz`) whatever the version.
 */
async function pack() {
  console.log('\n--- pack (pnpm pack; prepack builds dist/)');
  const since = Date.now();
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  const names = readdirSync(join(root, 'packages')).filter((name) => readJson(join(root, 'packages', name, 'package.json')).private !== true);
  // In parallel: each pack runs its package's prepack (tsc), the slow part.
  const packed = await Promise.all(names.map(async (name) => ({ name, ...(await run('pnpm', ['pack', '--pack-destination', dest], { cwd: join(root, 'packages', name) })) })));
  const tarballs = new Map();
  for (const { name, code, output } of packed) {
    const file = readdirSync(dest).find((f) => f.startsWith(`jwt-session-${name}-`) && f.endsWith('.tgz'));
    result(code === 0 && file !== undefined, `pnpm pack ${name}${file ? ` → ${file}` : ''}`, code === 0 ? '' : output.trim());
    if (!file) continue;
    copyFileSync(join(dest, file), join(dest, `${name}.tgz`));
    tarballs.set(`@jwt-session/${name}`, join(dest, `${name}.tgz`));
  }
  console.log(`        packing took ${seconds(since)}`);
  return tarballs;
}

/** The manifest a tarball ships (what npm records in a lock for it). */
function packedManifest(tarball) {
  return JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
}

/** Every `npm install …` line of the READMEs that names one of our packages: what a reader copies. */
function readmeInstallLines() {
  const files = [join(root, 'README.md'), ...readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'README.md'))];
  const lines = new Set();
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/`(npm install [^`]+)`|^(npm install .+)$/gm)) {
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
      const manifest = readJson(join(root, 'packages', dir, 'package.json'));
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

/** A README install line as the words npm gets: flags (-g for the CLI) dropped, the app gets them either way. */
function lineSpecs(line) {
  const words = line.split(/\s+/).slice(2).filter((word) => !word.startsWith('-'));
  const ours = words.filter((spec) => /^@jwt-session\/[a-z-]+$/.test(spec));
  // Our packages are not on the registry: the ones those on the line depend on come from tarballs too.
  const needed = closure(ours).filter((name) => !ours.includes(name));
  return { ours, others: [...words.filter((word) => !ours.includes(word)), '@types/node@20'], tarballs: [...ours, ...needed] };
}

/** The folder under pins/ that records one app: readable, stable across runs. */
const pinKey = (kind, words) =>
  `${kind}--${words
    .filter((w) => !w.startsWith('@types/node'))
    .map((w) => w.replace(/^@jwt-session\//, '').replace(/[^a-z0-9.-]+/gi, '_'))
    .sort()
    .join('+')}`.slice(0, 120);

/** A registry spec with a --pin override of the same package and major applied (`ioredis` or `ioredis@6` → `ioredis@6.0.0`). */
function overridden(spec) {
  const at = spec.lastIndexOf('@');
  const [name, range] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, ''];
  const exact = pinOverrides.find((o) => o.slice(0, o.lastIndexOf('@')) === name && (range === '' || o.slice(o.lastIndexOf('@') + 1).split('.')[0] === range.replace(/^[~^]/, '').split('.')[0]));
  return exact ?? spec;
}

/**
 * Creates an app folder with our tarballs under tarballs/ and installs it:
 * in the pinned pass with `npm ci` from pins/<key>, in the newest pass with
 * `npm install` of `others` (registry specs) and the tarballs. Resolves with
 * npm's result, or a failure that says the pins are out of date.
 */
async function installApp(app, pass, key, { tarballs, others }, allTarballs) {
  mkdirSync(join(app, 'tarballs'), { recursive: true });
  for (const name of tarballs) copyFileSync(allTarballs.get(name), join(app, 'tarballs', `${name.slice('@jwt-session/'.length)}.tgz`));
  const files = tarballs.map((name) => `./tarballs/${name.slice('@jwt-session/'.length)}.tgz`);
  if (pass === 'newest') {
    writeJson(join(app, 'package.json'), { name: 'consumer-app', private: true, type: 'module' });
    return npm(app, 'install', ...files, ...others.map(overridden));
  }
  const pin = join(pinsDir, key);
  const stale = staleness(pin, tarballs, allTarballs);
  if (stale) return { code: 1, output: `the pins in scripts/consumer/pins/${key} are out of date (${stale}): run \`node scripts/consumer-check.mjs --pin\` and commit the result` };
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(pin, file), join(app, file));
  return npm(app, 'ci');
}

/** JSON with sorted keys: npm's lock orders a manifest's keys its own way. */
const canonical = (value) => JSON.stringify(value ?? {}, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v));

/** Why a pinned lock no longer fits the packed packages, or undefined when it does. */
function staleness(pin, tarballs, allTarballs) {
  if (!existsSync(join(pin, 'package-lock.json'))) return 'no lock recorded for this app';
  const lock = readJson(join(pin, 'package-lock.json')).packages ?? {};
  const recorded = Object.keys(lock).filter((path) => /^node_modules\/@jwt-session\/[^/]+$/.test(path)).map((path) => path.slice('node_modules/'.length));
  const wanted = [...tarballs].sort();
  if (recorded.sort().join() !== wanted.join()) return `records ${recorded.join(', ') || 'none of our packages'}, the app needs ${wanted.join(', ')}`;
  for (const name of wanted) {
    const packed = packedManifest(allTarballs.get(name));
    const entry = lock[`node_modules/${name}`];
    for (const field of ['version', 'dependencies', 'peerDependencies', 'peerDependenciesMeta', 'optionalDependencies']) {
      if (canonical(entry[field]) !== canonical(packed[field])) return `${name}'s ${field} changed`;
    }
  }
  return undefined;
}

/**
 * --pin: records an app installed in the newest pass as its pins: the exact
 * versions npm chose go into package.json, and the lock's tarball entries lose
 * their integrity (the tarballs are rebuilt at every run; their manifests are
 * compared instead, see staleness()).
 */
async function recordPins(app, key) {
  pinned.push([app, key]);
}

/** Writes the pins of every app recorded above, once the whole run passed without a warning. */
async function writePins() {
  if (failed > 0 || warnings.length > 0) {
    console.log(`\n--pin: nothing written: the run had ${failed} failure(s) and ${warnings.length} warning(s); a pinned set must be known good (name exact versions after --pin)`);
    failed++;
    return;
  }
  console.log('\n--- writing scripts/consumer/pins');
  for (const [app, key] of pinned) await writePin(app, key);
}

async function writePin(app, key) {
  const manifest = readJson(join(app, 'package.json'));
  for (const [name, spec] of Object.entries(manifest.dependencies ?? {})) {
    if (spec.startsWith('file:')) continue;
    const { version } = readJson(join(app, 'node_modules', ...name.split('/'), 'package.json'));
    manifest.dependencies[name] = spec.startsWith('npm:') ? `${spec.slice(0, spec.lastIndexOf('@'))}@${version}` : version;
  }
  writeJson(join(app, 'package.json'), manifest);
  const relock = await npm(app, 'install', '--package-lock-only');
  if (relock.code !== 0) return result(false, `pin ${key}`, relock.output.trim());
  const lock = readJson(join(app, 'package-lock.json'));
  for (const entry of Object.values(lock.packages)) if (entry.resolved?.startsWith('file:')) delete entry.integrity;
  const pin = join(pinsDir, key);
  rmSync(pin, { recursive: true, force: true });
  mkdirSync(pin, { recursive: true });
  writeJson(join(pin, 'package.json'), manifest);
  writeJson(join(pin, 'package-lock.json'), lock);
  result(true, `pinned ${key}: ${Object.entries(manifest.dependencies).filter(([, s]) => !s.startsWith('file:')).map(([n, s]) => `${n}@${s.replace(/^npm:/, '')}`).join(' ')}`);
}

/**
 * The verdict on an install's npm output: our peer trouble fails; in the
 * newest pass, other packages' peer trouble is a warning.
 */
function judgeNpm(pass, label, install) {
  const { ours, theirs } = classifyNpmWarnings(install.output);
  const all = [...ours, ...theirs];
  if (pass === 'pinned' || all.length === 0) return result(all.length === 0, label, all.join('\n'));
  result(ours.length === 0, label, ours.join('\n'));
  for (const line of theirs) warn(`npm, not about our packages: ${line.trim()}`);
}

/** The verdict on one tsc run: see consumer/diagnostics.mjs. */
function judgeTsc(pass, label, app, tsc) {
  if (tsc.code === 0) return result(true, label);
  if (pass === 'pinned') return result(false, label, tsc.output.trim());
  const { ours, theirs } = classifyDiagnostics(tsc.output, app);
  result(ours.length === 0 && (theirs.length > 0 || tsc.code === 0), `${label}${theirs.length > 0 && ours.length === 0 ? ' (no diagnostic in our declarations or the consumer)' : ''}`, ours.join('\n') || tsc.output.trim());
  for (const dependency of theirs) warn(warningLine(dependency));
}

/**
 * Each README install line, with our packages taken from the tarballs, must
 * install with no peer warning, and the main entry of each of our packages on
 * it must type-check (strict, skipLibCheck: false) with only what the line
 * installs: an optional peer (fastify, uvu) must not be needed by a main entry.
 */
async function installLines(pass, tarballs, tsc) {
  console.log(`\n--- README install lines, ${pass} (each in an empty app, + @types/node for the type check)`);
  const since = Date.now();
  const lines = readmeInstallLines();
  if (!tsc) return result(false, 'README install lines', 'no TypeScript compiler: the app installs above failed');
  const outcomes = await Promise.all(
    lines.map(async (line, index) => {
      const app = join(work, `${pass}-line-${index}`);
      mkdirSync(app);
      const specs = lineSpecs(line);
      const key = pinKey('line', [...specs.ours, ...specs.others]);
      const install = await installApp(app, pass, key, specs, tarballs);
      if (install.code !== 0) return { line, install };
      if (pinning) await recordPins(app, key);
      writeFileSync(join(app, 'check.ts'), `${specs.ours.map((name, i) => `import * as m${i} from '${name}';`).join('\n')}\nexport const entries = [${specs.ours.map((_, i) => `m${i}`).join(', ')}];\n`);
      writeJson(join(app, 'tsconfig.json'), { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true }, files: ['check.ts'] });
      // The consumer app's compiler: resolution starts from check.ts, so only this app's node_modules count.
      const typecheck = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
      return { line, app, install, tsc: typecheck };
    }),
  );
  for (const { line, app, install, tsc } of outcomes) {
    if (install.code !== 0) {
      result(false, `${line}: installs`, install.output.trim());
      continue;
    }
    judgeNpm(pass, `${line}: no peer warning`, install);
    judgeTsc(pass, `${line}: main entries type-check with skipLibCheck: false`, app, tsc);
  }
  if (lines.length === 0) result(false, 'README install lines found', 'no `npm install @jwt-session/…` line in any README');
  console.log(`        took ${seconds(since)}`);
}

/** Resolves with the path of the app's TypeScript 5.9 compiler once installed, else undefined. */
async function consumerRun(pass, major, tarballs) {
  console.log(`\n--- app with ioredis ${major}, ${pass} (${pass === 'pinned' ? 'npm ci from scripts/consumer/pins' : 'npm install of the newest releases'}, in ${tmpdir()})`);
  const app = mkdtempSync(join(work, `${pass}-ioredis${major}-`));
  for (const file of ['app.mjs', 'require.cjs', 'consumer.ts', 'tsconfig.json']) copyFileSync(join(fixtures, file), join(app, file));

  let since = Date.now();
  const key = `app--ioredis-${major}`;
  const install = await installApp(app, pass, key, { tarballs: [...tarballs.keys()], others: [`ioredis@${major}`, ...PEERS, ...TOOLS] }, tarballs);
  result(install.code === 0, `${pass === 'pinned' ? 'npm ci' : 'npm install'} (tarballs + ioredis@${major} + ${PEERS.join(' ')}) in ${seconds(since)}`, install.code === 0 ? '' : install.output.trim());
  if (install.code !== 0) return undefined;
  judgeNpm(pass, 'npm printed no peer warning and no ERESOLVE', install);
  if (pinning) await recordPins(app, key);

  // The type checks do not depend on the scripts: run them alongside.
  since = Date.now();
  const typechecks = COMPILERS.map(([label, dir]) => run(process.execPath, [join(app, 'node_modules', dir, 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app }).then((r) => ({ ...r, label, took: seconds(since) })));
  const esm = await run(process.execPath, ['app.mjs'], { cwd: app, env: { REDIS_URL: redis?.url ?? '', DATABASE_URL: postgres?.url ?? '' }, timeout: 180_000 });
  if (countLines(esm.output) === 0 || (esm.code !== 0 && !/^not ok/m.test(esm.output))) result(false, 'app.mjs ran to the end', esm.output.trim());
  console.log(`        app.mjs took ${seconds(since)}`);

  const cjs = await run(process.execPath, ['require.cjs'], { cwd: app, timeout: 60_000 });
  if (countLines(cjs.output) === 0 || (cjs.code !== 0 && !/^not ok/m.test(cjs.output))) result(false, 'require.cjs ran to the end', cjs.output.trim());

  for (const tsc of await Promise.all(typechecks)) {
    judgeTsc(pass, `tsc --noEmit consumer.ts, ${tsc.label} (strict, exactOptionalPropertyTypes, skipLibCheck: false) in ${tsc.took}`, app, tsc);
  }
  return join(app, 'node_modules', 'typescript', 'bin', 'tsc');
}

/**
 * Shows the newest pass's sorting on two fake apps compiled with the
 * workspace's TypeScript: a dependency whose declaration imports an untyped
 * module (what ioredis 6.1.0 does) gives a warning that names it and its
 * version; a broken declaration under @jwt-session/ is a failure.
 */
async function selfTest() {
  console.log('\n--- self-test: a dependency\'s broken declaration warns, ours fails');
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const fake = (app, name, version, files) => {
    const dir = join(app, 'node_modules', ...name.split('/'));
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, 'package.json'), { name, version, types: 'index.d.ts', main: 'index.js' });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  };
  const compile = async (app) => {
    writeJson(join(app, 'tsconfig.json'), { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: [] }, files: ['consumer.ts'] });
    return run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
  };
  const theirs = join(work, 'self-test-theirs');
  fake(theirs, 'untyped-errors', '1.0.0', { 'index.js': 'module.exports = {};\n' });
  fake(theirs, 'fake-redis', '9.1.0', { 'index.js': 'module.exports = {};\n', 'index.d.ts': "import { ReplyError } from 'untyped-errors';\nexport declare class Fake extends ReplyError {}\n" });
  fake(theirs, '@jwt-session/fine', '0.1.0', { 'index.js': 'module.exports = {};\n', 'index.d.ts': "import type { Fake } from 'fake-redis';\nexport declare function use(client: Fake): void;\n" });
  writeFileSync(join(theirs, 'consumer.ts'), "import { use } from '@jwt-session/fine';\nexport const f: typeof use = use;\n");
  const a = classifyDiagnostics((await compile(theirs)).output, theirs);
  result(a.ours.length === 0 && a.theirs.length === 1 && a.theirs[0].name === 'fake-redis' && a.theirs[0].version === '9.1.0' && /TS7016/.test(a.theirs[0].first), 'a dependency\'s own declaration that imports an untyped module is one warning naming it and its version', JSON.stringify(a));

  const ours = join(work, 'self-test-ours');
  fake(ours, '@jwt-session/broken', '0.1.0', { 'index.js': 'module.exports = {};\n', 'index.d.ts': 'export declare function use(client: NoSuchType): void;\n' });
  writeFileSync(join(ours, 'consumer.ts'), "import { use } from '@jwt-session/broken';\nexport const f: typeof use = use;\n");
  const b = classifyDiagnostics((await compile(ours)).output, ours);
  result(b.ours.length === 1 && b.ours[0].startsWith('node_modules/@jwt-session/broken/index.d.ts') && b.theirs.length === 0, 'a broken declaration of ours is a failure', JSON.stringify(b));

  writeFileSync(join(theirs, 'consumer.ts'), "import { use } from '@jwt-session/fine';\nexport const n: number = use;\n");
  const c = classifyDiagnostics((await compile(theirs)).output, theirs);
  result(c.ours.length === 1 && /consumer\.ts/.test(c.ours[0]), 'an error in the consumer\'s own source is a failure even beside a dependency\'s warning', JSON.stringify(c));

  const npmLines = classifyNpmWarnings('npm warn ERESOLVE overriding peer dependency\nnpm warn peer ioredis@"^5.4.0 || ^6.0.0" from @jwt-session/storage-redis@0.1.0\nnpm warn peer react@"^18" from some-lib@2.0.0\n');
  result(npmLines.ours.length === 1 && npmLines.theirs.length === 2, 'npm peer warnings that name our packages are ours; the others are the registry\'s', JSON.stringify(npmLines));
}

try {
  console.log(`consumer check (${passes.join(' + ')}${strict ? ', strict' : ''}${pinning ? ', recording pins' : ''}): node ${process.version}, npm ${(await run('npm', ['--version'])).output.trim()}, work dir ${work}`);
  await selfTest();
  const tarballs = await pack();
  try {
    redis = await startRedis();
    console.log(`  redis-server on ${redis.url}`);
  } catch (error) {
    result(false, 'start redis-server', error.message);
  }
  try {
    // The workspace's PostgreSQL harness (TypeScript, loaded through tsx): initdb + postgres on a free port.
    const { tsImport } = await import('tsx/esm/api');
    const { startPostgres } = await tsImport('../tools/pg-harness/src/index.ts', import.meta.url);
    postgres = await startPostgres();
    console.log(`  postgres on ${postgres.url}`);
  } catch (error) {
    result(false, 'start postgres', error.message);
  }
  if (tarballs.size > 0) {
    for (const pass of passes) {
      let tsc;
      for (const major of majors) tsc = (await consumerRun(pass, major, tarballs)) ?? tsc;
      await installLines(pass, tarballs, tsc);
    }
  }
  if (pinning) await writePins();
} catch (error) {
  result(false, 'consumer check crashed', error.stack ?? String(error));
} finally {
  await postgres?.stop().catch(() => undefined);
  postgres = undefined;
  cleanup();
}
console.log(`\nconsumer check took ${Math.round((Date.now() - started) / 1000)} s${keep ? `, kept ${work}` : ''}`);
if (warnings.length > 0 && !strict) console.log(`${warnings.length} warning(s) about other packages' own files (not failures; \`pnpm test:latest\` makes them fail):\n${warnings.map((w) => `  - ${w}`).join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

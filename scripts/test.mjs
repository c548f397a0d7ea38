#!/usr/bin/env node
// Runs every package's uvu suites under c8 with the coverage gate (90% lines,
// 85% branches of the package's src/), then the examples' suites, then the
// README code blocks (scripts/readme-check.mjs), then the outside-the-workspace
// check (scripts/consumer-check.mjs: packed tarballs installed with npm into a
// temp app, on ioredis 6 and 5; a pinned pass from scripts/consumer/pins and a
// newest pass), then the runtime matrix (scripts/runtimes.mjs: Bun, Deno and
// workerd installed from npm), and prints one closing line
// "N passed, N failed" over all of them. A suite whose set-up (a before hook)
// fails reports the error as a failure: uvu 0.5.6 swallowed it, see
// patches/uvu@0.5.6.patch.
// Usage: node scripts/test.mjs [package… | examples | readme | consumer | runtimes]
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const c8 = require.resolve('c8/bin/c8.js');
const uvu = join(root, 'node_modules', 'uvu', 'bin.js');

const wanted = process.argv.slice(2);
const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'test')));
const targets = [
  ...packages.map((name) => ({ name, dir: join(root, 'packages', name), coverage: true })),
  ...(existsSync(join(root, 'examples', 'test')) ? [{ name: 'examples', dir: join(root, 'examples'), coverage: false }] : []),
].filter((t) => wanted.length === 0 || wanted.includes(t.name));

/** The README and consumer checks print their own closing "N passed, N failed" line; their checks count like tests. */
function runCheck(name, script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts', script)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const m = /(\d+) passed, (\d+) failed\s*$/.exec(out);
      const passed = Number(m?.[1] ?? 0);
      const failed = Number(m?.[2] ?? 0);
      resolve({ name, code, total: passed + failed, passed, skipped: 0 });
    });
  });
}

function run(target) {
  const test = ['--import', 'tsx', uvu, 'test', '\\.test\\.ts$'];
  const args = target.coverage
    ? [c8, '--check-coverage', '--lines', '90', '--branches', '85', '--include', 'src/**', '--reporter', 'text-summary', '--reports-dir', 'coverage', process.execPath, ...test]
    : test;
  if (target.coverage) rmSync(join(target.dir, 'coverage'), { recursive: true, force: true });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: target.dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
      const count = (label) => Number(/(\d+)\s*$/.exec(plain.split('\n').find((l) => l.trim().startsWith(label)) ?? '')?.[1] ?? 0);
      resolve({ name: target.name, code, total: count('Total:'), passed: count('Passed:'), skipped: count('Skipped:') });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
let broken = [];
for (const target of targets) {
  console.log(`\n=== ${target.name}`);
  const r = await run(target);
  passed += r.passed;
  skipped += r.skipped;
  failed += r.total - r.passed - r.skipped;
  if (r.code !== 0 || r.total === 0) broken.push(`${r.name} (exit ${r.code}${r.total === 0 ? ', no tests ran' : ''})`);
}
const checks = [
  { name: 'readme', title: 'readme (every ```ts block of every README compiles; the quick start runs)', script: 'readme-check.mjs' },
  { name: 'consumer', title: 'consumer (packed tarballs, npm, outside the workspace)', script: 'consumer-check.mjs' },
  { name: 'runtimes', title: 'runtimes (Bun, Deno and workerd from npm: lifecycle on memory and Redis, Socket.IO guard, a Worker)', script: 'runtimes.mjs' },
];
for (const check of checks) {
  if (wanted.length > 0 && !wanted.includes(check.name)) continue;
  console.log(`\n=== ${check.title}`);
  const r = await runCheck(check.name, check.script);
  passed += r.passed;
  failed += r.total - r.passed;
  if (r.code !== 0 || r.total === 0) broken.push(`${r.name} check (exit ${r.code}${r.total === 0 ? ', no checks ran' : ''})`);
}
if (broken.length > 0) console.log(`\nfailed: ${broken.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = broken.length > 0 || failed > 0 || skipped > 0 ? 1 : 0;

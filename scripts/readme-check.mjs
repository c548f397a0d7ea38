#!/usr/bin/env node
// Every ```ts block of every README (the root one, packages/*, examples/*,
// tools/*) must compile against the workspace packages, with the workspace's
// strict settings. Each block becomes one module in a scratch folder inside
// tools/readme-check (whose package.json lists what README code may import),
// compiled together with tools/readme-check/prelude.d.ts, which declares the
// placeholders a reader supplies (`ip`, `db`, …). Errors are reported at the
// README line. A block preceded by `<!-- readme-check: run -->` is also run as
// written (with tsx, JWT_SECRET set), and must exit 0 within 20 s.
// Prints one line per block and closes with "N passed, N failed".
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = join(root, 'tools', 'readme-check');
const require = createRequire(join(root, 'package.json'));
const tsc = require.resolve('typescript/bin/tsc');
const RUN_MARK = '<!-- readme-check: run -->';

function readmes() {
  const found = [join(root, 'README.md')];
  for (const dir of ['packages', 'examples', 'tools']) {
    for (const name of readdirSync(join(root, dir))) {
      const file = join(root, dir, name, 'README.md');
      if (existsSync(file)) found.push(file);
    }
  }
  return found;
}

/** ```ts / ```typescript fences, with the 1-based README line of the opening fence. */
function blocks(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(indent));
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    found.push({ file, line: start + 1, code: body.join('\n'), run: before >= 0 && lines[before].trim() === RUN_MARK });
  }
  return found;
}

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    let timedOut = false;
    const timer = options.timeout ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), options.timeout) : undefined;
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code: code ?? 1, output, timedOut })));
  });
}

const scratch = mkdtempSync(join(host, '.blocks-'));
let passed = 0;
let failed = 0;
// A README may import any workspace package: tools/readme-check must depend on each.
const hostDeps = JSON.parse(readFileSync(join(host, 'package.json'), 'utf8')).devDependencies ?? {};
for (const name of readdirSync(join(root, 'packages'))) {
  const manifest = join(root, 'packages', name, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')).name;
  if (hostDeps[pkg] !== undefined) continue;
  failed++;
  console.log(`  FAIL  tools/readme-check/package.json lacks ${pkg} (pnpm --filter @jwt-session/readme-check add -D ${pkg}@workspace:^)`);
}
try {
  const all = readmes().flatMap(blocks);
  const names = all.map((block, index) => {
    const name = `block${String(index).padStart(3, '0')}.ts`;
    // `export {}` makes every block a module, so blocks never see each other's names.
    writeFileSync(join(scratch, name), `${block.code}\nexport {};\n`);
    return name;
  });
  copyFileSync(join(host, 'prelude.d.ts'), join(scratch, 'prelude.d.ts'));
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(scratch, join(root, 'tsconfig.base.json')),
      // experimentalDecorators: NestJS code (the nestjs README) uses TypeScript's decorators, as Nest apps do.
      compilerOptions: { noEmit: true, noUnusedLocals: false, types: ['node'], experimentalDecorators: true },
      files: ['prelude.d.ts', ...names],
    }),
  );
  const compiled = await run(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.json'), '--pretty', 'false'], { cwd: scratch });
  const errors = new Map();
  const unplaced = [];
  for (const line of compiled.output.split('\n')) {
    const m = /(block(\d{3})\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (!m) {
      if (line.trim()) unplaced.push(line);
      continue;
    }
    const block = all[Number(m[2])];
    const where = `${relative(root, block.file)}:${block.line + Number(m[3])}:${m[4]}`;
    errors.set(Number(m[2]), [...(errors.get(Number(m[2])) ?? []), `${where} ${m[5]}`]);
  }
  for (const [index, block] of all.entries()) {
    const label = `${relative(root, block.file)}:${block.line} compiles`;
    const problems = errors.get(index);
    if (problems) failed++;
    else passed++;
    console.log(`${problems ? '  FAIL  ' : '  ok    '}${label}${problems ? `\n${problems.map((p) => `        ${p}`).join('\n')}` : ''}`);
  }
  if (compiled.code !== 0 && errors.size === 0) {
    failed++;
    console.log(`  FAIL  tsc failed outside any block\n${unplaced.map((l) => `        ${l}`).join('\n')}`);
  }
  for (const [index, block] of all.entries()) {
    if (!block.run) continue;
    const label = `${relative(root, block.file)}:${block.line} runs as written`;
    const result = await run(process.execPath, ['--import', 'tsx', join(scratch, names[index])], {
      cwd: scratch,
      timeout: 20_000,
      env: { ...process.env, JWT_SECRET: 'readme-check-secret-of-at-least-32-bytes!' },
    });
    const ok = result.code === 0 && !result.timedOut;
    if (ok) passed++;
    else failed++;
    const detail = result.timedOut ? 'did not exit within 20 s' : result.output.trim();
    console.log(`${ok ? '  ok    ' : '  FAIL  '}${label}${ok ? '' : `\n${detail.replace(/^/gm, '        ')}`}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

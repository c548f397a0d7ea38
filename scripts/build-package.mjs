#!/usr/bin/env node
// Builds the package in the current directory (a package's `build` and
// `prepack` script): a clean dist/ with .js, .d.ts and their source maps, so
// `pnpm pack`/`pnpm publish` always ship what `publishConfig.exports` points
// at, and never a file left over from an older build.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exitCode = result.status ?? 1;

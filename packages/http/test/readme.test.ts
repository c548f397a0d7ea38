import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const S = suite('README');
const here = fileURLToPath(new URL('..', import.meta.url));

S('every ts code block compiles against the real API (strict, as a module of its own)', () => {
  const readme = readFileSync(join(here, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, 'an Express and a Fastify example');
  // Inside the package so that its dependencies resolve as a user's would; removed afterwards.
  const dir = join(here, `.test-output/readme-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const files = blocks.map((code, i) => {
      const file = join(dir, `block-${i}.ts`);
      writeFileSync(file, `${code}\nexport {};\n`);
      return file;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: join(here, '../../tsconfig.base.json'), compilerOptions: { noEmit: true }, files }),
    );
    const tsc = createRequire(join(here, 'package.json')).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    assert.is(result.status, 0, `tsc:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

S.run();

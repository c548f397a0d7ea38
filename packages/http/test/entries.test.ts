import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/*
 * Guards the promise that each entry loads (and type-checks) without the other
 * framework: the modules an entry reaches may name only its own framework, and
 * the Express entry neither, since it is typed on node:http.
 */
const S = suite('entries');
const src = fileURLToPath(new URL('../src/', import.meta.url));

/** Every bare module specifier reachable from an entry through relative imports, `import type` included. */
function reachable(entry: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      else bare.add(spec!);
    }
    for (const [, spec] of text.matchAll(/declare module '([^']+)'/g)) bare.add(spec!);
  };
  visit(join(src, entry));
  return bare;
}

S('the Express entry reaches neither framework: only node built-ins, session-core and bowser', () => {
  const modules = [...reachable('index.ts')].sort();
  assert.equal(modules, ['@jwt-session/session-core', 'bowser', 'node:http']);
});

S('the Fastify entry reaches fastify and nothing of Express', () => {
  const modules = reachable('fastify.ts');
  assert.ok(modules.has('fastify'));
  assert.not.ok([...modules].some((m) => m.includes('express')));
});

S('the Hono entry reaches hono and neither Express nor Fastify; node:http only for a type (IncomingHttpHeaders)', () => {
  const modules = [...reachable('hono.ts')].sort();
  assert.equal(modules, ['@jwt-session/session-core', 'bowser', 'hono', 'hono/conninfo', 'hono/utils/http-status', 'node:http']);
  for (const file of ['core/request.ts', 'core/endpoints.ts', 'core/options.ts']) {
    for (const [line] of readFileSync(join(src, file), 'utf8').matchAll(/^import .*'node:[^']+';$/gm)) assert.match(line, /^import type /, `${file}: ${line}`);
  }
});

S.run();

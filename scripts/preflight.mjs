#!/usr/bin/env node
// First step of `pnpm test`: the suites need system programs that npm cannot
// install — redis-server and redis-cli (tests start their own servers and
// clusters), PostgreSQL's initdb, pg_ctl and postgres (storage-postgres' tests
// start their own server, see tools/pg-harness), pgbouncer (storage-postgres'
// PgBouncer test puts one in front of that server), chromium (the demo's browser test) and npm (the consumer check),
// then Bun, Deno and workerd from npm for the runtime matrix (scripts/runtimes.mjs).
// As root on a machine with apt-get, installs what is missing (apt-get update
// first); otherwise stops at once with ONE line naming what is missing and the
// command that installs it, instead of failing suites minutes later.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, name)));

/** Debian keeps PostgreSQL's server programs off PATH, in /usr/lib/postgresql/<major>/bin (tools/pg-harness looks there too). */
function postgresServer() {
  if (['initdb', 'pg_ctl', 'postgres'].every(onPath)) return true;
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => ['initdb', 'pg_ctl', 'postgres'].every((p) => executable(join('/usr/lib/postgresql', v, 'bin', p))));
  } catch {
    return false;
  }
}

/** Debian's `pgbouncer` package puts it in /usr/sbin, off a non-root user's PATH (tools/pg-harness looks there too). */
const pgbouncer = () => onPath('pgbouncer') || executable('/usr/sbin/pgbouncer');

/** [what is missing, Debian package that provides it] */
function missing() {
  const found = [];
  if (!onPath('redis-server')) found.push(['redis-server', 'redis-server']);
  if (!onPath('redis-cli')) found.push(['redis-cli', 'redis-tools']);
  if (!postgresServer()) found.push(['PostgreSQL (initdb, pg_ctl)', 'postgresql']);
  if (!pgbouncer()) found.push(['pgbouncer', 'pgbouncer']);
  if (!executable(CHROMIUM)) found.push([`chromium (${CHROMIUM})`, 'chromium']);
  if (!onPath('npm')) found.push(['npm', 'npm']);
  return found;
}

const installCommand = (packages) => `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;

/**
 * Bun, Deno and workerd for the runtime matrix, from npm into a cache outside
 * the repository (scripts/runtimes.mjs --install). A runtime that cannot be
 * installed where its npm package is published gets one line, and stops here.
 */
function runtimes() {
  const result = spawnSync(process.execPath, [fileURLToPath(new URL('runtimes.mjs', import.meta.url)), '--install'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('preflight: a runtime of the runtime matrix could not be installed from npm (see the line above)');
    process.exit(1);
  }
}

let absent = missing();
if (absent.length === 0) {
  runtimes();
  process.exit(0);
}

const packages = [...new Set(absent.map(([, pkg]) => pkg))];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !onPath('apt-get')) {
  const how = onPath('apt-get') ? `sudo ${installCommand(packages).replace('&& apt-get', '&& sudo apt-get')}` : `install ${packages.join(', ')} with your package manager`;
  console.error(`preflight: missing ${absent.map(([what]) => what).join(', ')}; install with: ${how}${absent.some(([w]) => w.startsWith('chromium')) ? ' (or set CHROMIUM_PATH)' : ''}`);
  process.exit(1);
}

console.log(`preflight: installing ${packages.join(' ')} (missing: ${absent.map(([what]) => what).join(', ')})`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...packages]]) {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`preflight: "apt-get ${args.join(' ')}" failed (exit ${result.status}); install by hand: ${installCommand(packages)}`);
    process.exit(1);
  }
}
absent = missing();
if (absent.length > 0) {
  console.error(`preflight: still missing after apt-get: ${absent.map(([what]) => what).join(', ')}`);
  process.exit(1);
}
runtimes();
console.log('preflight: ok');

// The runtimes of the runtime matrix (scripts/runtimes.mjs), installed from npm
// into a cache outside the repository, and the workerd configuration of its
// Worker: shared with the bench's edge case (bench/cases/edge.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const cache = process.env.JWT_SESSION_RUNTIMES_DIR ?? join(homedir(), '.cache', 'jwt-session-runtimes');
/** npm package → version range, and the binary it ships. */
export const RUNTIMES = {
  bun: { range: '^1.4.4', bin: 'bun' },
  deno: { range: '^2.9.6', bin: 'deno' },
  workerd: { range: '^1.20261117.1', bin: 'workerd' },
};
/** Where the npm packages publish binaries (their optionalDependencies). */
export const PUBLISHED = new Set(['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64']);

function binary(name) {
  const file = join(cache, 'node_modules', '.bin', process.platform === 'win32' ? `${RUNTIMES[name].bin}.cmd` : RUNTIMES[name].bin);
  return existsSync(file) ? file : undefined;
}

function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(join(cache, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Installs what is missing into the cache; returns runtime → binary path or the reason it is absent. */
export function install() {
  mkdirSync(cache, { recursive: true });
  if (!existsSync(join(cache, 'package.json'))) writeFileSync(join(cache, 'package.json'), '{ "private": true }\n');
  // A cached runtime is reused while it satisfies the range: npm decides (it changes nothing then).
  const wanted = Object.entries(RUNTIMES).map(([name, { range }]) => `${name}@${range}`);
  const t0 = Date.now();
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', ...wanted], { cwd: cache, encoding: 'utf8', shell: process.platform === 'win32' });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const found = {};
  for (const name of Object.keys(RUNTIMES)) {
    const bin = binary(name);
    found[name] = bin !== undefined && result.status === 0 ? bin : { reason: result.status === 0 ? 'no binary after npm install' : `npm install failed (exit ${result.status}): ${(result.stderr || result.error?.message || '').trim().split('\n')[0]}` };
  }
  const versions = Object.keys(RUNTIMES).map((name) => `${name} ${installedVersion(name) ?? '-'}`).join(', ');
  console.log(`runtimes: npm install into ${cache} took ${seconds} s (${versions})`);
  return found;
}

/** `bindings`: name → text. The "internet" service lets the Worker reach the origin on loopback (workerd refuses private addresses by default). */
export function workerdConfig(port, bindings) {
  const list = Object.entries(bindings).map(([name, text]) => `(name = "${name}", text = "${text}")`).join(', ');
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker), (name = "internet", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${list}],
);
`;
}


/** esbuild, which is in the workspace already (tsx runs on it). */
export async function loadEsbuild(root) {
  const fromTsx = createRequire(createRequire(join(root, 'package.json')).resolve('tsx/package.json'));
  return import(fromTsx.resolve('esbuild'));
}

/** esbuild options for the matrix's Worker (tools/runtime-matrix/src/worker.ts): browser/worker builds of dependencies, node: built-ins from nodejs_compat. */
export function workerBuild(scenarios, outfile) {
  return {
    bundle: true, format: 'esm', target: 'es2022', logLevel: 'silent', absWorkingDir: scenarios,
    entryPoints: [join(scenarios, 'worker.ts')], outfile, platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'], external: ['node:*'],
  };
}

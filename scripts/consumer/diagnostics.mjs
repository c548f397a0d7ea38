// Sorts a consumer app's compiler diagnostics and npm warnings into the ones
// this project answers for and the ones a dependency's own files cause.
//
// Why: ioredis 6.1.0's declaration files import `redis-errors`, which ships no
// types, so a strict app (`skipLibCheck: false`) fails to compile with or
// without this library. Against the newest releases, such a diagnostic is a
// warning that names the package; a diagnostic located in our declarations or
// in the consumer's own source (which a type of ours can break) is a failure.
// The pinned pass (scripts/consumer/pins) fails on any diagnostic at all: its
// set is the one recorded as known good, so only our code can change it.
import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';

const OURS = '@jwt-session/';
const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): error (TS\d+): /;

/**
 * The package whose own files hold `file` (the last node_modules segment of
 * its path), or undefined when the file is not inside node_modules.
 */
export function owningPackage(file) {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const first = parts[at + 1];
  if (first.startsWith('@')) return at + 2 < parts.length ? `${first}/${parts[at + 2]}` : undefined;
  return first;
}

/** Splits tsc's output into diagnostics: a first line and its indented continuation lines. */
export function parseDiagnostics(output) {
  const found = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const m = DIAGNOSTIC.exec(line);
    if (m) found.push({ file: m[1], code: m[4], text: line.trim() });
    else if (/^\s/.test(line) && found.length > 0) found[found.length - 1].text += ` ${line.trim()}`;
    else found.push({ file: undefined, code: /error (TS\d+)/.exec(line)?.[1], text: line.trim() });
  }
  return found;
}

function versionOf(app, name) {
  const manifest = join(app, 'node_modules', ...name.split('/'), 'package.json');
  try {
    return existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sorts the diagnostics of one tsc run in `app`: `ours` are this project's
 * (our declarations, the consumer's source, or no file at all); `theirs` has
 * one entry per other package whose own files hold diagnostics, with its
 * version and its first diagnostic.
 */
export function classifyDiagnostics(output, app) {
  const ours = [];
  const theirs = new Map();
  for (const diagnostic of parseDiagnostics(output)) {
    const owner = diagnostic.file === undefined ? undefined : owningPackage(diagnostic.file);
    if (owner === undefined || owner.startsWith(OURS)) ours.push(diagnostic.text);
    else if (!theirs.has(owner)) theirs.set(owner, { name: owner, version: versionOf(app, owner) ?? '?', first: diagnostic.text.replace(app + sep, '') });
  }
  return { ours, theirs: [...theirs.values()] };
}

/**
 * npm's peer warnings and ERESOLVE lines: the ones that name one of our
 * packages are ours; the rest (one third-party package's peer range against
 * another's release) are the registry's.
 */
export function classifyNpmWarnings(output) {
  const lines = output.split('\n').filter((line) => /ERESOLVE|\bpeer\b/i.test(line));
  return { ours: lines.filter((line) => line.includes(OURS)), theirs: lines.filter((line) => !line.includes(OURS)) };
}

/** One warning line per package: its name, version and first diagnostic. */
export function warningLine({ name, version, first }) {
  return `${name}@${version}: its own declaration files do not compile (first: ${first})`;
}

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError } from '@jwt-session/session-core';
import { AuthError, httpStatusOf, toAuthError } from '../src/index.js';

type CoreErrors = typeof import('@jwt-session/session-core');
type AdapterErrors = typeof import('../src/errors.js');

const S = suite('error mapping across copies of the packages');

// Second, independent copies of session-core's errors.ts and of this
// package's errors.ts, as npm produces when it installs a package twice: the
// classes are different objects, so only brand and code can recognise them.
let dir: string;
let core: CoreErrors;
let adapter: AdapterErrors;
S.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'adapter-copy-'));
  const coreSrc = dirname(fileURLToPath(import.meta.resolve('@jwt-session/session-core')));
  copyFileSync(join(coreSrc, 'errors.ts'), join(dir, 'core-errors.ts'));
  core = (await import(pathToFileURL(join(dir, 'core-errors.ts')).href)) as CoreErrors;
  // Its import of session-core points at the copy above, as it would in the other install.
  const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8').replace("from '@jwt-session/session-core'", "from './core-errors.js'");
  writeFileSync(join(dir, 'adapter-errors.ts'), source);
  adapter = (await import(pathToFileURL(join(dir, 'adapter-errors.ts')).href)) as AdapterErrors;
});
S.after(() => rmSync(dir, { recursive: true, force: true }));

// Guards issue 9 item 6: with `instanceof`, a second copy of session-core
// turned every session error into ERR_INTERNAL (HTTP 500 instead of 401).
S('a SessionError from another copy of session-core keeps its code (the message is the adapter\'s fixed one)', () => {
  assert.is.not(core.SessionError, SessionError);
  const mapped = toAuthError(new core.SessionError('ERR_SESSION_REVOKED', 'session revoked'));
  assert.instance(mapped, AuthError);
  assert.is(mapped.code, 'ERR_SESSION_REVOKED');
  assert.is(mapped.message, 'the session has been revoked');
  assert.is(httpStatusOf(mapped.code), 401);
});

S('an AuthError from another copy of the adapter is returned as it is', () => {
  const foreign = new adapter.AuthError('ERR_ORIGIN_NOT_ALLOWED');
  assert.is(toAuthError(foreign), foreign);
});

S('anything else becomes ERR_INTERNAL with a fixed message, even if it looks like a SessionError', () => {
  const lookalike = Object.assign(new Error('token eyJ... leaked'), { name: 'SessionError', code: 'ERR_SESSION_REVOKED' });
  for (const error of [lookalike, new Error('boom'), 'string', undefined]) {
    const mapped = toAuthError(error);
    assert.is(mapped.code, 'ERR_INTERNAL');
    assert.is(mapped.message, 'authentication failed unexpectedly');
  }
});

S.run();

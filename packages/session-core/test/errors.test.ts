import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError, isSessionError } from '../src/index.js';
import { storageError } from '../src/errors.js';

type ErrorsModule = typeof import('../src/errors.js');

const S = suite('SessionError across copies of session-core');

// A second, independent copy of errors.ts, as npm produces when the app and a
// storage package each get their own session-core: its class is a different
// object, so only the brand can tell its errors apart from foreign ones.
let dir: string;
let other: ErrorsModule;
S.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'session-core-copy-'));
  copyFileSync(fileURLToPath(new URL('../src/errors.ts', import.meta.url)), join(dir, 'errors.ts'));
  other = (await import(pathToFileURL(join(dir, 'errors.ts')).href)) as ErrorsModule;
});
S.after(() => rmSync(dir, { recursive: true, force: true }));

// Guards issue 9 item 6: two installed copies turned every session error into ERR_INTERNAL.
S('an error from the other copy is recognised by isSessionError, with and without codes', () => {
  assert.is.not(other.SessionError, SessionError);
  const error = new other.SessionError('ERR_SESSION_REVOKED', 'revoked');
  assert.ok(isSessionError(error));
  assert.ok(isSessionError(error, 'ERR_AUTH_TOKEN_INVALID', 'ERR_SESSION_REVOKED'));
  assert.not.ok(isSessionError(error, 'ERR_AUTH_TOKEN_INVALID'));
  assert.ok(other.isSessionError(new SessionError('ERR_CONFIG_INVALID', 'x')));
});

S('instanceof SessionError holds across copies; subclasses keep the prototype check', () => {
  assert.ok(new other.SessionError('ERR_CLAIMS_INVALID', 'x') instanceof SessionError);
  assert.ok(new SessionError('ERR_CLAIMS_INVALID', 'x') instanceof other.SessionError);
  assert.ok(new SessionError('ERR_CLAIMS_INVALID', 'x') instanceof Error);
  class Narrow extends SessionError {}
  assert.ok(new Narrow('ERR_CLAIMS_INVALID', 'x') instanceof Narrow);
  assert.not.ok(new SessionError('ERR_CLAIMS_INVALID', 'x') instanceof Narrow);
});

S('storageError passes a SessionError of the other copy through unchanged', () => {
  const error = new other.SessionError('ERR_STORAGE_UNAVAILABLE', 'down');
  assert.is(storageError('read', error), error);
  const wrapped = storageError('read', new Error('ECONNREFUSED'));
  assert.is(wrapped.code, 'ERR_STORAGE_UNAVAILABLE');
});

S('without the brand, or with a code outside the documented list, it is not a SessionError', () => {
  const lookalike = Object.assign(new Error('x'), { name: 'SessionError', code: 'ERR_SESSION_REVOKED' });
  assert.not.ok(isSessionError(lookalike));
  assert.not.ok(lookalike instanceof SessionError);
  const badCode = new SessionError('ERR_SESSION_REVOKED', 'x');
  (badCode as { code: string }).code = 'ERR_SOMETHING_ELSE';
  assert.not.ok(isSessionError(badCode));
  for (const value of [undefined, null, 'ERR_SESSION_REVOKED', 42, {}, { code: 'ERR_SESSION_REVOKED' }]) assert.not.ok(isSessionError(value));
});

S.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtUserSessionManager, SESSION_ERROR_CODES, SessionError, type JwtUserSessionManagerOptions, type SessionErrorCode } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { HEADER, SECRET, claimsAt, forge, harness } from './helpers.js';
import { ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';

/*
 * Guards defect #10.9: jose's message was passed on and it quotes unknown
 * `crit` header names, so attacker-chosen text (newlines included) reached
 * SessionError messages, HTTP bodies and logs. A message is now one fixed
 * sentence per code.
 */
const S = suite('error messages are fixed per code');

const HOSTILE = 'x\r\nlevel=error msg="forged log line" <script>';

S('a crit header with newlines is refused and its text is nowhere in the error', async () => {
  const h = harness();
  const token = forge({ ...HEADER, crit: [HOSTILE], [HOSTILE]: HOSTILE }, claimsAt(h.clock.now));
  const error = await rejectsWith(h.manager.read(token), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(error.message, new SessionError('ERR_AUTH_TOKEN_INVALID', '').message);
  for (const text of [error.message, String(error.stack ?? ''), JSON.stringify(error), String((error as { cause?: unknown }).cause ?? '')]) {
    assert.not.ok(text.includes('forged log line'), text);
  }
  await h.close();
});

S('every code has one message, whatever text a caller passes (only option names are kept, for ERR_CONFIG_INVALID)', () => {
  const seen = new Map<SessionErrorCode, string>();
  for (const code of SESSION_ERROR_CODES) {
    const a = new SessionError(code, HOSTILE);
    const b = new SessionError(code, 'something else');
    if (code === 'ERR_CONFIG_INVALID') continue;
    assert.is(a.message, b.message, code);
    assert.not.ok(a.message.includes('forged'), code);
    assert.ok(/^[ -~]+$/.test(a.message), `${code}: not one printable line`);
    seen.set(code, a.message);
  }
  assert.is(new Set(seen.values()).size, seen.size, 'two codes share a message');
});

// Guards #10: ERR_CONFIG_INVALID names the option, never its value: a duplicate kid
// holding a newline (or a secret pasted as a kid) must not reach logs through the message.
S('ERR_CONFIG_INVALID names the option by path, never the value it was given', () => {
  const kid = `${HOSTILE}\nkid-value-${SECRET}`;
  const options = {
    keys: [
      { kid, algorithm: 'HS256', secret: SECRET },
      { kid, algorithm: 'HS256', secret: SECRET },
    ],
    issuer: 'iss',
    audience: 'aud',
    refreshTokenStore: new ReferenceRefreshTokenStore(),
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
  } as JwtUserSessionManagerOptions;
  let error: unknown;
  try {
    new JwtUserSessionManager(options);
  } catch (e) {
    error = e;
  }
  assert.instance(error, SessionError);
  const { code, message } = error as SessionError;
  assert.is(code, 'ERR_CONFIG_INVALID');
  assert.match(message, /keys\[1\]\.kid/);
  assert.match(message, /keys\[0\]/);
  assert.ok(/^[ -~]+$/.test(message), `not one printable line: ${JSON.stringify(message)}`);
  for (const fragment of ['forged', 'kid-value', SECRET]) assert.not.ok(message.includes(fragment), fragment);
});

S('hostile subjects, claims and context never reach a message', async () => {
  const h = harness();
  const attempts = [
    h.manager.create(HOSTILE.repeat(200)),
    h.manager.create('alice', { claims: { [HOSTILE]: () => 1 } as never }),
    h.manager.create('alice', { context: { [HOSTILE]: Number.NaN } as never }),
    h.manager.create('alice', { claims: { [`${HOSTILE}`]: 1, sub: 'x' } as never }),
    h.manager.update(HOSTILE),
    h.manager.read(HOSTILE),
  ];
  for (const attempt of attempts) {
    const error = (await attempt.then(() => assert.unreachable('accepted'), (e: unknown) => e)) as SessionError;
    assert.instance(error, SessionError);
    assert.not.ok(error.message.includes('forged'), error.message);
  }
  await h.close();
});

S.run();

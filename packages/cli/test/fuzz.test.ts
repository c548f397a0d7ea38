import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { timeView } from '../src/output.js';
import { runHere, type CliResult } from './support.js';

/*
 * The CLI's inputs an operator does not control, fed anything: a token's
 * header and claims (strings with every invisible class, times of any size),
 * a Redis URL's credentials from the command line or the environment, an
 * environment variable's name. The promises (#20.7, #26 §4): an exit status
 * of 0, 1 or 2, never ERR_INTERNAL; no raw control or invisible character in
 * either output; --json parses back to the token's own values; no password
 * echoed.
 */

/** C0 and C1 controls, bidi marks, overrides and isolates, zero-width characters, separators. */
const HOSTILE = ['\u0000', '\u0007', '\u001b', '\n', '\r', '\u007f', '\u0085', '\u009b', '\u061c', '\u200b', '\u200d', '\u200f', '\u2028', '\u2029', '\u202a', '\u202e', '\u2060', '\u2066', '\u2069', '\ufeff'];
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

const text = fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 6 }).map((parts) => parts.join(''));
const time = fc.oneof(
  fc.constantFrom(1e20, -1e20, 1e308, -1e308, 8.64e12, 8.64e12 + 1, -8.64e12, 0, -0, 1.5, 4_000_000_000),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const value: fc.Arbitrary<unknown> = fc.oneof(text, time, fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));
const claims = fc
  .record({ sub: fc.option(text, { nil: undefined }), exp: fc.option(time, { nil: undefined }), iat: fc.option(time, { nil: undefined }), nbf: fc.option(time, { nil: undefined }), auth_time: fc.option(time, { nil: undefined }) }, { requiredKeys: [] })
  .chain((known) => fc.dictionary(text, value, { maxKeys: 4 }).map((extra) => ({ ...extra, ...known })))
  .map((c) => JSON.parse(JSON.stringify(c)) as Record<string, unknown>); // what survives JSON: what the token carries
const header = fc.dictionary(text, value, { maxKeys: 3 }).map((extra) => ({ ...JSON.parse(JSON.stringify(extra)), alg: 'HS256' }) as Record<string, unknown>);

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function wellBehaved(result: CliResult, label: string): void {
  assert.ok(result.code === 0 || result.code === 1 || result.code === 2, `${label}: exit ${result.code}`);
  assert.not.ok(result.stderr.includes('ERR_INTERNAL'), `${label}: ${result.stderr}`);
}

const S = suite('fuzz: token inspect');

S('any header and claims: exit 0 or 1, no raw control or invisible character, --json gives back the same values', async () => {
  await fc.assert(
    fc.asyncProperty(header, claims, async (h, c) => {
      const token = `${b64(h)}.${b64(c)}.c2ln`;
      const data = await runHere(['token', 'inspect', token, '--json'], { now: Date.UTC(2026, 10, 29) });
      wellBehaved(data, 'json');
      assert.ok(data.code === 0 || data.code === 1);
      assert.not.ok(RAW.test(data.stdout.replaceAll('\n', '')), 'a raw character in --json output');
      const report = JSON.parse(data.stdout) as { claims: unknown; header: unknown; times: Record<string, { unix: number; iso: string | null }> };
      assert.equal(report.claims, c);
      assert.equal(report.header, h);
      for (const [name, view] of Object.entries(report.times)) assert.is(view.unix, c[name]);
      const plain = await runHere(['token', 'inspect', token], { now: Date.UTC(2026, 10, 29) });
      wellBehaved(plain, 'plain');
      assert.is(plain.code, data.code);
      assert.not.ok(RAW.test(plain.stdout.replaceAll('\n', '')), 'a raw character in plain output');
    }),
    { numRuns: 150 },
  );
});

S('timeView: any number of seconds gives a date or says it is out of range, never throws', () => {
  fc.assert(
    fc.property(fc.oneof(time, fc.double()), (seconds) => {
      const view = timeView(seconds);
      assert.ok(Object.is(view.unix, seconds));
      const inRange = Math.abs(seconds * 1000) <= 8.64e15;
      assert.is(view.iso === null, !inRange);
      // A Date keeps whole milliseconds, truncated toward zero (ECMAScript TimeClip).
      if (view.iso !== null) assert.is(Date.parse(view.iso), Math.trunc(seconds * 1000) + 0);
    }),
    { numRuns: 500 },
  );
});

S.run();

const R = suite('fuzz: the Redis URL and where it comes from');

const MARK = 'S3cr3t';
// Characters that stay inside a URL's userinfo (no / ? # \ or spaces, which would move the host elsewhere), % among them.
const userinfo = fc.string({ unit: fc.constantFrom(...'abcXYZ019%@:!$&\'()*+,;=~._-é€'), maxLength: 12 });

R('any user name and password, on the command line, in --redis-env or $JWT_SESSION_REDIS_URL: exit 1 or 2, never ERR_INTERNAL, never echoed', async () => {
  await fc.assert(
    fc.asyncProperty(userinfo, userinfo, fc.constantFrom('--redis', '--redis-env', 'default'), async (user, pass, source) => {
      const url = `redis://${user}:${MARK}${pass}@127.0.0.1:1`;
      const args = source === '--redis' ? ['--redis', url] : source === '--redis-env' ? ['--redis-env', 'OPS_REDIS'] : [];
      const env = source === '--redis-env' ? { OPS_REDIS: url } : source === 'default' ? { JWT_SESSION_REDIS_URL: url } : {};
      for (const json of [[], ['--json']]) {
        const result = await runHere(['stats', ...args, ...json], { env });
        wellBehaved(result, source);
        assert.ok(result.code === 1 || result.code === 2, `${source}: exit ${result.code}`);
        assert.match(result.stderr, result.code === 2 ? /ERR_USAGE/ : /ERR_REDIS_UNAVAILABLE/);
        assert.not.ok(result.stderr.includes(MARK), `${source}: the password was echoed: ${result.stderr}`);
      }
    }),
    { numRuns: 40 },
  );
});

R('any --redis-env name: a usage error or the variable used, the name echoed only when it looks like one', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(text, fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/)), async (name) => {
      fc.pre(name.length > 0 && !name.startsWith('-'));
      const result = await runHere(['stats', '--redis-env', name, '--json'], { env: { [name]: 'redis://127.0.0.1:1' } });
      wellBehaved(result, name);
      const shaped = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name);
      assert.is(result.code, shaped ? 1 : 2, result.stderr);
      // Fixed text: an unshaped name (perhaps a value pasted in its place) is not echoed.
      if (!shaped) assert.is(JSON.parse(result.stderr).message, '--redis-env takes the name of an environment variable (letters, digits and _), not a value');
      assert.not.ok(RAW.test(result.stderr.trim()), 'a raw character on stderr');
    }),
    { numRuns: 60 },
  );
});

R.run();

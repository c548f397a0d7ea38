import { JwtUserSessionManager, type SigningKey } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GENERATED_ALGORITHMS, generateKey } from '../src/index.js';
import { bytes, duration, escapeInvisible, oneLine, table } from '../src/output.js';
import { cli, json, jsonError, runHere } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'jwt-session-cli-'));
const managers: JwtUserSessionManager[] = [];

function issuer(key: SigningKey | SigningKey[]): JwtUserSessionManager {
  const manager = new JwtUserSessionManager({
    keys: key,
    issuer: 'https://auth.test',
    audience: 'api',
    refreshTokenStore: new MemoryRefreshTokenStore(),
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
  });
  managers.push(manager);
  return manager;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const U = suite('usage and exit codes');

// Guards the documented exit status 2: a wrong command line does nothing and says what is wrong.
U('usage errors exit 2 with ERR_USAGE and a message naming the problem', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['sessions'], /missing subcommand/],
    [['sessions', 'purge', 'x'], /unknown subcommand "purge"/],
    [['sessions', 'list'], /missing <subject>/],
    [['sessions', 'list', 'alice'], /--redis <url> is required/],
    [['sessions', 'list', 'alice', 'bob', '--redis', 'redis://127.0.0.1:1'], /unexpected argument "bob"/],
    [['sessions', 'list', 'alice', '--redis', 'http://x'], /redis:\/\/ or rediss:\/\//],
    [['sessions', 'list', 'alice', '--redis', 'not a url'], /must be a URL/],
    [['sessions', 'list', 'alice', '--redis', 'redis://127.0.0.1:1/x'], /database number/],
    [['sessions', 'list', 'alice', '--bogus'], /Unknown option '--bogus'/],
    [['sessions', 'revoke', 'alice'], /missing <sessionId>/],
    [['sessions', 'revoke', 'alice', 'sid', '--access-token-ttl', '0'], /--access-token-ttl must be a whole number/],
    [['sessions', 'revoke', 'alice', 'sid', '--access-token-ttl', '1.5'], /--access-token-ttl must be a whole number/],
    [['token'], /missing subcommand/],
    [['token', 'verify', 'x'], /unknown subcommand "verify"/],
    [['token', 'inspect'], /missing <jwt>/],
    [['token', 'inspect', 'a.b.c', '--cluster'], /--cluster and --prefix need --redis/],
    [['keys'], /missing subcommand/],
    [['keys', 'rotate'], /unknown subcommand "rotate"/],
    [['keys', 'generate'], /--alg is required/],
    [['keys', 'generate', '--alg', 'none'], /--alg must be one of HS256, ES256, EdDSA, RS256/],
    [['keys', 'generate', '--alg', 'HS256', '--kid', ''], /--kid must be 1 to 256/],
    [['keys', 'generate', '--alg', 'HS256', 'extra'], /unexpected argument "extra"/],
    [['stats'], /--redis <url> is required/],
    [['stats', '--redis'], /Option '--redis' argument is ambiguous/],
    [['stats', '--redis', 'redis://127.0.0.1:1', '--redis-env', 'R'], /stats: give --redis or --redis-env, not both/],
    [['stats', '--redis-env', 'NOPE'], /^environment variable NOPE is not set \(--redis-env\)$/],
    [['sessions', 'list', 'alice', '--redis-env', 'redis://:pw@10.0.0.1'], /^--redis-env takes the name of an environment variable \(letters, digits and _\), not a value$/],
    [['token', 'inspect', 'a.b.c', '--prefix', 'p'], /--cluster and --prefix need --redis or --redis-env/],
    // Guards #20.7: a % in the password that does not start an escape was ERR_INTERNAL (decodeURIComponent threw).
    [['sessions', 'list', 'alice', '--redis', 'redis://ops:50%off@127.0.0.1:1'], /^--redis: the user name or password in the URL is not valid percent-encoding \(write a % in it as %25\)$/],
    [['stats', '--redis', 'redis://50%:pw@127.0.0.1:1', '--cluster'], /^--redis: the user name or password in the URL is not valid percent-encoding/],
  ];
  for (const [args, message] of cases) {
    const result = await runHere([...args, '--json']);
    assert.is(result.code, 2, args.join(' '));
    assert.is(result.stdout, '', args.join(' '));
    const error = jsonError(result);
    assert.is(error.error, 'ERR_USAGE', args.join(' '));
    assert.match(error.message, message, args.join(' '));
    for (const secret of ['50%off', 'pw@']) assert.not.ok(result.stderr.includes(secret), args.join(' '));
  }
});

// Guards #13: a token (or anything with control characters) typed in the wrong
// place must not be echoed in a usage error, in plain or --json output; such
// arguments are named by position, while command and flag words stay quoted.
U('usage errors never echo a mistyped token or control characters', async () => {
  const manager = issuer({ kid: 'hs', algorithm: 'HS256', secret: 'usage-echo-test-secret-0123456789abcdef' });
  const { accessToken, refreshToken } = await manager.create('alice');
  const ansi = 'x\u001b[31mred\nline';
  const cases: [string[], RegExp, string][] = [
    [[accessToken], /unknown command #1/, accessToken],
    [['token', accessToken], /token: unknown subcommand #1/, accessToken],
    [['sessions', refreshToken], /sessions: unknown subcommand #1/, refreshToken],
    [['keys', ansi], /keys: unknown subcommand #1/, ansi],
    [['token', 'inspect', accessToken, refreshToken], /token inspect: unexpected argument #2/, refreshToken],
    [['sessions', 'list', 'alice', ansi, '--redis', 'redis://127.0.0.1:1'], /unexpected argument #2/, ansi],
  ];
  for (const [args, message, secret] of cases) {
    for (const mode of [[], ['--json']]) {
      const result = await runHere([...args, ...mode]);
      const label = `${args.length} args ${mode.join('')}`;
      assert.is(result.code, 2, label);
      assert.match(result.stderr, message, label);
      assert.not.ok(result.stderr.includes(secret) || result.stdout.includes(secret), label);
      assert.not.ok(result.stderr.includes('\u001b'), label);
      // Even a fragment of a JWT (its header part) must not show.
      if (secret.startsWith('eyJ')) assert.not.ok(result.stderr.includes(secret.split('.')[0]!), label);
    }
  }
});

// Guards #13: run() is public API; a non-array or non-string argv is a usage error, not a TypeError.
U('run() with an argv that is not an array of strings exits 2 with ERR_USAGE', async () => {
  for (const argv of [null, undefined, 'token inspect', [1, 2], ['token', null]]) {
    const result = await runHere(argv as unknown as string[]);
    assert.is(result.code, 2, String(argv));
    assert.match(result.stderr, /^error ERR_USAGE: the command line must be an array of strings/, String(argv));
  }
});

U('help: no arguments print usage and exit 2; --help exits 0', async () => {
  const none = await runHere([]);
  assert.is(none.code, 2);
  assert.match(none.stdout, /Exit status: 0 done; 1 operational failure/);
  for (const args of [['--help'], ['sessions', 'list', '--help'], ['help']]) {
    const result = await runHere(args);
    assert.is(result.code, 0, args.join(' '));
    assert.match(result.stdout, /jwt-session sessions revoke <subject> --all/);
  }
});

U('the real process: exit status and a one-line error on stderr', async () => {
  const result = await cli(['keys', 'generate', '--alg', 'HS512']);
  assert.is(result.code, 2);
  assert.is(result.stdout, '');
  assert.is(result.stderr.trim(), 'error ERR_USAGE: keys generate: --alg must be one of HS256, ES256, EdDSA, RS256 (see jwt-session --help)');
});

U.run();

const K = suite('keys generate');

// Guards the promise that the output is ready for session-core's `keys` option: a manager takes it as it is and issues verifiable tokens.
K('each algorithm gives a key the manager accepts, with a kid, and a public half without private members', async () => {
  for (const alg of GENERATED_ALGORITHMS) {
    const result = await runHere(['keys', 'generate', '--alg', alg, '--json'], { now: Date.UTC(2026, 10, 29) });
    assert.is(result.code, 0, alg);
    const key = json<SigningKey & { secret?: string; privateKey?: Record<string, unknown>; publicKey?: Record<string, unknown> }>(result);
    assert.is(key.algorithm, alg);
    assert.match(key.kid, /^2026-11-29-[0-9a-f]{8}$/);
    if (alg === 'HS256') {
      assert.ok(Buffer.byteLength(key.secret!) >= 32);
    } else {
      assert.is(key.privateKey!.kid, key.kid);
      assert.is(key.publicKey!.alg, alg);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.not.ok(member in key.publicKey!, `${alg} publicKey has ${member}`);
    }
    const manager = issuer(key);
    const tokens = await manager.create('alice');
    assert.is((await manager.read(tokens.accessToken)).sub, 'alice');
    // A verify-only service with just the public half.
    if (alg !== 'HS256') {
      const verifyOnly = issuer([{ kid: 'other', algorithm: 'HS256', secret: 'x'.repeat(32) }, { kid: key.kid, algorithm: alg, publicKey: key.publicKey as never }] as SigningKey[]);
      assert.is((await verifyOnly.read(tokens.accessToken)).sub, 'alice');
    }
  }
  assert.is(generateKey('RS256', 'r').algorithm, 'RS256');
});

K('--kid is used as given; human output is the JSON with a note on stderr', async () => {
  const result = await runHere(['keys', 'generate', '--alg', 'EdDSA', '--kid', 'signing-2027']);
  assert.is(result.code, 0);
  assert.is(json(result).kid, 'signing-2027');
  assert.match(result.stderr, /keep "privateKey" secret/);
  const hs = await runHere(['keys', 'generate', '--alg', 'HS256']);
  assert.match(hs.stderr, /keep "secret" secret/);
  const twice = [await runHere(['keys', 'generate', '--alg', 'HS256', '--json']), hs].map((r) => json(r).secret);
  assert.is.not(twice[0], twice[1]);
});

K.run();

const T = suite('token inspect');
const SECRET = 'token-inspect-test-secret-0123456789abcdef';
const NOW = Date.UTC(2026, 10, 29, 9, 30);

T('HS256 with --secret-env: header, claims, every time in unix, local and ISO form; verdict valid, exit 0', async () => {
  const manager = issuer({ kid: 'hs', algorithm: 'HS256', secret: SECRET });
  const { accessToken, sessionId } = await manager.create('alice', { claims: { roles: ['ops'] } });
  const result = await runHere(['token', 'inspect', accessToken, '--secret-env', 'JWT_SECRET', '--json'], { env: { JWT_SECRET: SECRET } });
  assert.is(result.code, 0, result.stderr);
  const report = json<any>(result);
  assert.is(report.verdict, 'valid');
  assert.equal(report.header, { alg: 'HS256', kid: 'hs', typ: 'at+jwt' });
  assert.is(report.claims.sid, sessionId);
  assert.equal(report.claims.roles, ['ops']);
  assert.equal(report.signature, { checked: true, verified: true, source: 'secret from $JWT_SECRET' });
  assert.equal(report.revocation, { checked: false });
  const exp = report.times.exp;
  assert.is(exp.unix, report.claims.exp);
  assert.is(exp.iso, new Date(exp.unix * 1000).toISOString());
  assert.match(exp.local, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
  assert.ok(report.expiresInSeconds > 800 && report.expiresInSeconds <= 900);
  assert.not.ok(JSON.stringify(report).includes(SECRET));

  const human = await runHere(['token', 'inspect', accessToken, '--secret-env', 'JWT_SECRET'], { env: { JWT_SECRET: SECRET } });
  assert.match(human.stdout, /^verdict {4}valid$/m);
  assert.match(human.stdout, /^signature {2}verified with secret from \$JWT_SECRET$/m);
  assert.match(human.stdout, /^ {2}exp +\d+ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d {2}\d{4}-\d\d-\d\dT/m);
  assert.match(human.stdout, /^ {2}roles +\["ops"\]$/m);
});

// Guards the exit status of a failed verification: scripts can use `&&`.
T('a wrong secret, an expired or not-yet-valid token exit 1 with the verdict; no key means unverified (exit 0)', async () => {
  const manager = issuer({ kid: 'hs', algorithm: 'HS256', secret: SECRET });
  const { accessToken } = await manager.create('alice');
  const wrong = await runHere(['token', 'inspect', accessToken, '--secret-env', 'S', '--json'], { env: { S: 'another-secret-of-enough-length-0123456789' } });
  assert.is(wrong.code, 1);
  assert.is(json<any>(wrong).verdict, 'signature-invalid');
  assert.is(json<any>(wrong).signature.reason, 'signature does not verify');
  // #19 §2: the verdict carries the reason a verifier would give, plain and --json.
  assert.is(json<any>(wrong).reason, 'signature');
  assert.match((await runHere(['token', 'inspect', accessToken, '--secret-env', 'S'], { env: { S: 'another-secret-of-enough-length-0123456789' } })).stdout, /^verdict {4}signature-invalid \(reason: signature\)$/m);
  const unverified = await runHere(['token', 'inspect', accessToken, '--json']);
  assert.is(unverified.code, 0);
  assert.is(json<any>(unverified).verdict, 'unverified');
  assert.not.ok('reason' in json<any>(unverified), 'an accepted token has no reason');
  assert.match((await runHere(['token', 'inspect', accessToken])).stdout, /not checked \(give --secret-env, --jwk or --jwks\)/);
  const later = await runHere(['token', 'inspect', accessToken, '--secret-env', 'S', '--json'], { env: { S: SECRET }, now: Date.now() + 3600_000 });
  assert.is(later.code, 1);
  assert.is(json<any>(later).verdict, 'expired');
  assert.is(json<any>(later).reason, 'expired');
  assert.match((await runHere(['token', 'inspect', accessToken], { now: Date.now() + 3600_000 })).stdout, /^expires {4}\d+m( \d+s)? ago$/m);
  const earlier = await runHere(['token', 'inspect', accessToken, '--json'], { now: NOW - 365 * 86_400_000 });
  assert.is(json<any>(earlier).verdict, 'unverified'); // no nbf in our tokens: only exp and iat matter
  const missing = await runHere(['token', 'inspect', accessToken, '--secret-env', 'NOPE', '--json']);
  assert.is(missing.code, 2);
  assert.match(jsonError(missing).message, /environment variable NOPE is not set/);
});

// Guards against echoing attacker-controlled or secret input: a malformed argument is refused with fixed text.
T('a malformed token is ERR_TOKEN_MALFORMED (exit 1) and is not echoed', async () => {
  for (const bad of ['abc', 'a.b', 'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig', 'x.y.z.w', 'secret-looking-garbage.with.dots']) {
    const result = await runHere(['token', 'inspect', bad, '--json']);
    assert.is(result.code, 1, bad);
    assert.is(jsonError(result).error, 'ERR_TOKEN_MALFORMED');
    assert.not.ok(result.stderr.includes(bad), bad);
  }
});

/** An unsigned compact JWT carrying exactly these header and claims (token inspect decodes anything). */
const unsigned = (header: object, claims: object): string => `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

// Guards #20.7: toISOString() of a date past ±8.64e15 ms threw, and the CLI said ERR_INTERNAL, "a bug".
T('times out of the Date range (exp 1e20, -1e20, 1e308) show the number and say so; no ERR_INTERNAL', async () => {
  for (const [exp, verdict, code] of [[1e20, 'unverified', 0], [-1e20, 'expired', 1], [1e308, 'unverified', 0], [-1e308, 'expired', 1]] as const) {
    const token = unsigned({ alg: 'HS256', typ: 'at+jwt' }, { sub: 'alice', iat: 1e20, nbf: -1e20, auth_time: 1e308, exp });
    const data = await runHere(['token', 'inspect', token, '--json']);
    assert.is(data.code, code, `${exp}: ${data.stderr}`);
    const report = json<any>(data);
    assert.is(report.verdict, verdict);
    assert.equal(report.times.exp, { unix: exp, iso: null, local: null, outOfRange: true });
    assert.equal(report.times.auth_time, { unix: 1e308, iso: null, local: null, outOfRange: true });
    assert.not.ok('expiresInSeconds' in report);
    const human = await runHere(['token', 'inspect', token]);
    assert.is(human.code, code);
    assert.is(human.stderr, '');
    assert.match(human.stdout, new RegExp(`^expires {4}out of range \\(exp ${String(exp).replace('+', '\\+')} is not a representable date\\)$`, 'm'));
    assert.match(human.stdout, new RegExp(`^ {2}exp +${String(exp).replace('+', '\\+')} {2}out of range`, 'm'));
  }
  // The edge of the range still prints as a date.
  const edge = await runHere(['token', 'inspect', unsigned({ alg: 'HS256' }, { sub: 'a', exp: 8.64e12 }), '--json']);
  assert.is(json<any>(edge).times.exp.iso, '+275760-09-13T00:00:00.000Z');
});

// Guards the choice documented in the README: $JWT_SESSION_REDIS_URL is the default for the commands that need Redis; an offline inspection does not connect because of it.
T('token inspect checks revocation with --redis or --redis-env only, not because $JWT_SESSION_REDIS_URL is set', async () => {
  const token = unsigned({ alg: 'HS256' }, { sub: 'alice', exp: 4_000_000_000 });
  const offline = await runHere(['token', 'inspect', token, '--json'], { env: { JWT_SESSION_REDIS_URL: 'redis://127.0.0.1:1' } });
  assert.is(offline.code, 0, offline.stderr);
  assert.equal(json<any>(offline).revocation, { checked: false });
  const asked = await runHere(['token', 'inspect', token, '--redis-env', 'R', '--json'], { env: { R: 'redis://127.0.0.1:1' } });
  assert.is(asked.code, 1);
  assert.is(jsonError(asked).error, 'ERR_REDIS_UNAVAILABLE');
});

/** Every character class a terminal hides or acts on, as the issue found them (U+009B, U+202E) and #26 §4 added. */
const INVISIBLE = ['\u007f', '\u0085', '\u009b', '\u061c', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2060', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff'];

// Guards #20.7 and #26 §4: --json carried raw U+009B (JSON.stringify escapes C0 only); the plain output passed U+202E and the zero-width, separator and isolate characters.
T('token inspect escapes C1, bidi, zero-width and separator characters in both outputs; --json still parses to the same claims', async () => {
  const claims = { sub: `admin\u202e\u2066nimda`, note: INVISIBLE.join('|'), [`role\u200b`]: 'x\u009b31mred', nested: { a: ['\u2028', '\u0085'] }, exp: 4_000_000_000 };
  const header = { alg: 'HS256', typ: 'at+jwt', kid: 'k\u202e1' };
  const token = unsigned(header, claims);
  for (const mode of [[], ['--json']]) {
    const result = await runHere(['token', 'inspect', token, ...mode]);
    assert.is(result.code, 0, result.stderr);
    for (const c of INVISIBLE) assert.not.ok(result.stdout.includes(c), `U+${c.charCodeAt(0).toString(16)} raw in ${mode.join('') || 'plain'} output`);
    assert.match(result.stdout, /\\u202e/);
  }
  const report = json<any>(await runHere(['token', 'inspect', token, '--json']));
  assert.equal(report.claims, claims, 'lossless: the escapes are JSON escapes');
  assert.equal(report.header, header);
  const plain = (await runHere(['token', 'inspect', token])).stdout;
  assert.match(plain, /^ {2}sub +"admin\\u202e\\u2066nimda"$/m);
  assert.match(plain, /^ {2}role\\u200b +"x\\u009b31mred"$/m);
});

// Guards #20.7 and #26 §4: a message that names what the operator typed (here a file name) is escaped too.
T('an error naming a file with invisible characters prints them escaped', async () => {
  for (const mode of [[], ['--json']]) {
    const result = await runHere(['token', 'inspect', unsigned({ alg: 'HS256' }, { sub: 'a' }), '--jwk', join(dir, 'missing\u202e\u009b\n.json'), ...mode]);
    assert.is(result.code, 1);
    for (const c of ['\u202e', '\u009b']) assert.not.ok(result.stderr.includes(c), mode.join(''));
    assert.match(result.stderr, /missing\\u202e\\u009b/);
    assert.is(result.stderr.trim().split('\n').length, 1, 'one line');
  }
});

T('--jwk accepts the file keys generate writes, a JWK Set, and a lone public JWK; a bad file is ERR_KEY_UNUSABLE', async () => {
  const generated = json<any>(await runHere(['keys', 'generate', '--alg', 'ES256', '--json']));
  const manager = issuer(generated);
  const { accessToken } = await manager.create('bob');
  for (const content of [generated, await manager.jwks(), generated.publicKey, { ...generated, privateKey: undefined }]) {
    const result = await runHere(['token', 'inspect', accessToken, '--jwk', file('k.json', content), '--json']);
    assert.is(result.code, 0, result.stderr);
    assert.is(json<any>(result).verdict, 'valid');
  }
  const hs = json<any>(await runHere(['keys', 'generate', '--alg', 'HS256', '--json']));
  const hsToken = (await issuer(hs).create('bob')).accessToken;
  assert.is(json<any>(await runHere(['token', 'inspect', hsToken, '--jwk', file('hs.json', hs), '--json'])).verdict, 'valid');
  // The ES256 key cannot verify the HS256 token: a refusal, not a crash.
  const cross = await runHere(['token', 'inspect', hsToken, '--jwk', file('k.json', generated), '--json']);
  assert.is(cross.code, 1);
  assert.is(json<any>(cross).verdict, 'signature-invalid');
  assert.is(json<any>(cross).reason, 'algorithm');
  for (const [name, content] of [
    ['missing.json', undefined],
    ['notjson.json', 'not json'],
    ['number.json', 42],
    ['shape.json', { hello: 'world' }],
    ['badjwk.json', { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: generated.kid, alg: 'ES256' }] }],
  ] as const) {
    const path = content === undefined ? join(dir, name) : file(name, content);
    const result = await runHere(['token', 'inspect', accessToken, '--jwk', path, '--json']);
    assert.is(result.code, 1, name);
    assert.is(jsonError(result).error, 'ERR_KEY_UNUSABLE', name);
  }
  const both = await runHere(['token', 'inspect', accessToken, '--jwk', 'a', '--jwks', 'http://b', '--json']);
  assert.is(both.code, 2);
  assert.match(jsonError(both).message, /give one of --secret-env, --jwk, --jwks \(got --jwk, --jwks\)/);
});

T('--jwks fetches the issuer\'s JWKS over HTTP; an unknown kid is a refusal; an unreachable URL is ERR_KEYS_UNAVAILABLE', async () => {
  const key = generateKey('EdDSA', 'ed-1');
  const manager = issuer(key);
  const server = createServer((req, res) => {
    // /private-jwks wants Basic credentials (ops-user / hunter2-jwks-pass), as given in the --jwks URL.
    const authorized = req.headers.authorization === `Basic ${Buffer.from('ops-user:hunter2-jwks-pass').toString('base64')}`;
    if (req.url === '/jwks' || (req.url === '/private-jwks' && authorized)) {
      void manager.jwks().then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
    } else res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const { accessToken } = await manager.create('carol');
    const ok = await runHere(['token', 'inspect', accessToken, '--jwks', `${base}/jwks`, '--json']);
    assert.is(ok.code, 0, ok.stderr);
    assert.equal(json<any>(ok).signature, { checked: true, verified: true, source: `${base}/jwks` });
    const stranger = (await issuer(generateKey('EdDSA', 'ed-2')).create('carol')).accessToken;
    const unknown = await runHere(['token', 'inspect', stranger, '--jwks', `${base}/jwks`, '--json']);
    assert.is(unknown.code, 1);
    assert.is(json<any>(unknown).signature.reason, 'no key matches the token header (kid/alg)');
    const broken = await runHere(['token', 'inspect', accessToken, '--jwks', `${base}/broken`, '--json']);
    assert.is(broken.code, 1);
    assert.is(jsonError(broken).error, 'ERR_KEYS_UNAVAILABLE');
    // Guards #13: credentials in the --jwks URL never reach the output (report, --json source, error messages).
    const withCredentials = `http://ops-user:hunter2-jwks-pass@127.0.0.1:${(server.address() as AddressInfo).port}`;
    const plain = await runHere(['token', 'inspect', accessToken, '--jwks', `${withCredentials}/private-jwks`]);
    assert.is(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`verified with ${base.replaceAll('.', '\\.')}/private-jwks`));
    const credentialed = await runHere(['token', 'inspect', accessToken, '--jwks', `${withCredentials}/private-jwks`, '--json']);
    assert.is(credentialed.code, 0, credentialed.stderr);
    assert.is(json<any>(credentialed).signature.source, `${base}/private-jwks`);
    const failing = await runHere(['token', 'inspect', accessToken, '--jwks', `${withCredentials}/broken`, '--json']);
    assert.is(jsonError(failing).error, 'ERR_KEYS_UNAVAILABLE');
    assert.match(jsonError(failing).message, new RegExp(`^${base.replaceAll('.', '\\.')}/broken: cannot fetch`));
    for (const result of [plain, credentialed, failing]) {
      for (const secret of ['ops-user', 'hunter2-jwks-pass']) assert.not.ok(`${result.stdout}${result.stderr}`.includes(secret), secret);
    }
    const malformed = await runHere(['token', 'inspect', accessToken, '--jwks', 'http://ops%zz:pw@127.0.0.1:1/jwks', '--json']);
    assert.is(malformed.code, 2);
    assert.match(jsonError(malformed).message, /not valid percent-encoding/);
    assert.not.ok(malformed.stderr.includes('ops%zz'));
    for (const bad of ['not a url', 'ftp://x/jwks']) {
      const result = await runHere(['token', 'inspect', accessToken, '--jwks', bad, '--json']);
      assert.is(result.code, 2, bad);
      assert.match(jsonError(result).message, /--jwks must be an http\(s\) URL/);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

// Guards the stdin path that keeps tokens out of argv (visible in ps) and shell history.
T('the real process reads the token from stdin when given "-"', async () => {
  const manager = issuer({ kid: 'hs', algorithm: 'HS256', secret: SECRET });
  const { accessToken } = await manager.create('dave');
  const result = await cli(['token', 'inspect', '-', '--secret-env', 'JWT_SECRET', '--json'], { env: { JWT_SECRET: SECRET }, stdin: `${accessToken}\n` });
  assert.is(result.code, 0, result.stderr);
  assert.is(json<any>(result).claims.sub, 'dave');
  assert.is((await runHere(['token', 'inspect', '-', '--json'], { stdin: accessToken })).code, 0);
});

T.run();

const O = suite('output helpers');

O('table aligns columns; control characters are escaped; durations and sizes read naturally', () => {
  assert.is(table([['A', 'LONG HEADER', 'Z'], ['wide cell', 'b', 'c']]), 'A          LONG HEADER  Z\nwide cell  b            c');
  assert.is(oneLine('a\nb\u001b[31m'), 'a\\u000ab\\u001b[31m');
  assert.is(oneLine('a\u009b\u202eb\u200b\u2028'), 'a\\u009b\\u202eb\\u200b\\u2028');
  assert.is(escapeInvisible('{\n  "a": "\u2066x"\n}'), '{\n  "a": "\\u2066x"\n}');
  assert.is(duration(0), '0s');
  assert.is(duration(45_000), '45s');
  assert.is(duration(3_723_000), '1h 2m');
  assert.is(duration(-90_000), '-1m 30s');
  assert.is(duration(2 * 86_400_000 + 5000), '2d 5s');
  assert.is(bytes(512), '512 B');
  assert.is(bytes(1536), '1.5 KiB');
  assert.is(bytes(5 * 1024 ** 3), '5.0 GiB');
  assert.is(bytes(3 * 1024 ** 5), '3072.0 TiB');
});

O('teardown', async () => {
  for (const manager of managers) await manager.close();
  rmSync(dir, { recursive: true, force: true });
});

O.run();

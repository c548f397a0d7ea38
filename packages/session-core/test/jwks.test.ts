import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionVerifier, isSessionError, type JwtSessionVerifierOptions } from '../src/index.js';
import { codeOf, forge } from './helpers.js';
import { OidcProvider } from './oidc-provider.js';
import { ReferenceInvalidAccessTokenCache } from './reference-storage.js';

/*
 * The verifier's JWK Set machinery (RemoteKeySet) against real local key
 * servers: the refetch limit whatever the last fetch's outcome (#20.3), the
 * body cap (#20.3), stale-if-error and unusable keys (#26 §4), plain http
 * refused (#20.5).
 */

const closers: (() => unknown)[] = [];
const later = <T>(value: T, close: () => unknown): T => {
  closers.push(close);
  return value;
};

/** A clock the test moves; starts at the real now so the provider's tokens (iat = real now) are current. */
const frozen = () => {
  const clock = { now: Date.now() };
  return { clock, read: () => clock.now };
};

async function provider(algorithms: ('RS256' | 'ES256')[] = ['ES256']): Promise<OidcProvider> {
  const p = await OidcProvider.start(algorithms);
  return later(p, () => p.stop());
}

function verifierFor(p: { jwksUrl: string; issuer: string }, options: Partial<JwtSessionVerifierOptions> = {}): JwtSessionVerifier {
  const v = new JwtSessionVerifier({
    jwksUrl: p.jwksUrl,
    issuer: p.issuer,
    audience: 'account-api',
    tokens: 'oidc',
    acceptedTypes: ['JWT'],
    invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
    verifiedTokenCacheSize: 0,
    ...options,
  } as JwtSessionVerifierOptions);
  return later(v, () => v.close());
}

/** A token under a kid no key set holds, with a signature that is not one: what an attacker sends by the hundred. */
function junk(issuer: string, n: number, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  return forge({ alg: 'ES256', kid: `junk-${n}-${randomBytes(4).toString('hex')}`, typ: 'JWT' }, { iss: issuer, aud: 'account-api', sub: 'mallory', iat, exp: iat + 300 });
}

async function codes(tokens: string[], v: JwtSessionVerifier): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (const code of await Promise.all(tokens.map((t) => codeOf(v.read(t))))) seen.set(code, (seen.get(code) ?? 0) + 1);
  return seen;
}

const S = suite('JWKS: the refetch limit holds while the key server fails');

// Guards #20.3 as it was measured: jose's cooldown started only after a successful fetch, so each junk token fetched again (301 fetches here).
S('300 junk tokens against a key server answering 500 cost no fetch beyond the first, whose backoff is running', async () => {
  const p = await provider();
  p.setUp(false, 500);
  const v = verifierFor(p); // default cooldown: 30 s
  assert.is(await codeOf(v.ready()), 'ERR_STORAGE_UNAVAILABLE');
  for (let n = 0; n < 300; n++) await codeOf(v.read(junk(p.issuer, n, Date.now())));
  assert.is(p.fetches, 1);
});

// Guards #20.3: the limit is measured from the end of each attempt and doubles after each consecutive failure, up to 4 cooldowns.
S('with no key set yet: one fetch per cooldown, backing off 1, 2, 4, 4 cooldowns; concurrent tokens share a fetch; every token 503 meanwhile', async () => {
  const p = await provider();
  p.setUp(false, 500);
  const { clock, read } = frozen();
  const v = verifierFor(p, { jwksCooldown: 1000, clock: read });
  const burst = async () => codes(Array.from({ length: 100 }, (_, n) => junk(p.issuer, n, clock.now)), v);
  // No key set at all: nothing to judge a token against, genuine or junk — the keys cannot be had.
  assert.equal([...(await burst())], [['ERR_STORAGE_UNAVAILABLE', 100]]);
  assert.is(p.fetches, 1, 'a hundred concurrent tokens, one fetch');
  const schedule: [number, number][] = [];
  for (const wait of [1000, 2000, 4000, 4000, 4000]) {
    clock.now += wait - 1;
    await burst();
    const before = p.fetches;
    clock.now += 1;
    await burst();
    schedule.push([wait, p.fetches - before]);
  }
  assert.equal(schedule, [[1000, 1], [2000, 1], [4000, 1], [4000, 1], [4000, 1]], 'no fetch a millisecond early, one at the moment');
  assert.is(p.fetches, 6);
  // Recovery: the next allowed fetch succeeds and the backoff starts over.
  p.setUp(true);
  clock.now += 4000;
  const token = await p.sign({ sub: 'alice' });
  assert.is((await v.read(token)).sub, 'alice');
  assert.is(p.fetches, 7);
});

// Guards #20.3: "a token that is simply unknown" — with good keys in hand, an unknown kid is 401 whatever the key server does, never 503.
S('with a good key set: unknown kids refetch once per cooldown, and stay 401 when that fetch fails; genuine tokens keep verifying', async () => {
  const p = await provider();
  const { clock, read } = frozen();
  const v = verifierFor(p, { jwksCooldown: 1000, clock: read });
  await v.ready();
  const genuine = await p.sign({ sub: 'alice' });
  p.setUp(false, 500);
  clock.now += 1000;
  const first = await codes(Array.from({ length: 300 }, (_, n) => junk(p.issuer, n, clock.now)), v);
  assert.equal([...first], [['ERR_AUTH_TOKEN_INVALID', 300]]);
  assert.is(p.fetches, 2, 'ready(), then one refetch for the 300');
  for (let n = 0; n < 300; n++) assert.is(await codeOf(v.read(junk(p.issuer, n, clock.now))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(p.fetches, 2, 'inside the backoff: no fetch');
  assert.is((await v.read(genuine)).sub, 'alice');
  clock.now += 999;
  await codeOf(v.read(junk(p.issuer, 0, clock.now)));
  assert.is(p.fetches, 2, 'one cooldown after the failure, not before');
  clock.now += 1;
  assert.is(await codeOf(v.read(junk(p.issuer, 0, clock.now))), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(p.fetches, 3);
  clock.now += 1999;
  await codeOf(v.read(junk(p.issuer, 0, clock.now)));
  assert.is(p.fetches, 3, 'after two failures in a row, two cooldowns');
  clock.now += 1;
  await codeOf(v.read(junk(p.issuer, 0, clock.now)));
  assert.is(p.fetches, 4);
});

S.run();

const C = suite('JWKS: the response body is capped');

/** A key server whose /jwks body the test writes; counts the bytes it managed to send. */
async function rawServer(write: (res: ServerResponse, sent: { bytes: number }) => void) {
  const sent = { bytes: 0 };
  const server = createServer((req, res) => write(res, sent));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  later(server, () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { jwksUrl: `${url}/jwks`, issuer: `${url}/realms/test`, sent };
}

// Guards #20.3: a key set padded past the cap is a failed fetch, whether the size is declared or streamed.
C('a valid JWK Set larger than jwksMaxBytes is refused (declared or chunked); the same set within the cap is used', async () => {
  const p = await provider();
  const keys = JSON.parse(await (await fetch(p.jwksUrl)).text()) as { keys: unknown[] };
  const padded = JSON.stringify({ ...keys, padding: 'x'.repeat(200_000) });
  for (const chunked of [false, true]) {
    const server = await rawServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(padded) }) });
      if (chunked) for (let at = 0; at < padded.length; at += 16_384) res.write(padded.slice(at, at + 16_384));
      res.end(chunked ? '' : padded);
    });
    const token = await p.sign({ iss: server.issuer });
    assert.is(await codeOf(verifierFor(server).ready()), 'ERR_STORAGE_UNAVAILABLE', `chunked: ${chunked}, default cap 131072`);
    assert.is(await codeOf(verifierFor(server, { jwksMaxBytes: 100_000 }).read(token)), 'ERR_STORAGE_UNAVAILABLE');
    assert.is((await verifierFor(server, { jwksMaxBytes: 300_000 }).read(token)).sub, 'user-1', `chunked: ${chunked}`);
  }
});

// Guards #20.3: the cap stops reading; an endless body is not read to its end (nor until the timeout).
C('an endless body: the fetch gives up at the cap and closes the connection', async () => {
  const closed = { done: false };
  const server = await rawServer((res, sent) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(65_536, 0x20);
    const pump = (): void => {
      // Bounded, so a verifier that reads it all still ends: 64 MiB.
      while (sent.bytes < 64 * 1024 * 1024) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => (closed.done = true));
    pump();
  });
  const v = verifierFor(server, { jwksTimeout: 60_000 });
  assert.is(await codeOf(v.ready()), 'ERR_STORAGE_UNAVAILABLE');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(closed.done, 'the connection was closed');
  assert.ok(server.sent.bytes < 16 * 1024 * 1024, `the server sent ${server.sent.bytes} bytes`);
});

// Guards the other bound of a fetch: a key server that sends headers then stalls, or never answers, fails the fetch at jwksTimeout.
C('a key server that stalls before or during the body: the fetch fails at jwksTimeout; the cause says why, without the body', async () => {
  for (const stall of ['headers', 'body'] as const) {
    const server = await rawServer((res) => {
      if (stall === 'body') res.writeHead(200, { 'content-type': 'application/json' }).write('{"keys": [');
    });
    const error = await verifierFor(server, { jwksTimeout: 200 })
      .ready()
      .then(() => undefined, (e: unknown) => e);
    assert.ok(isSessionError(error, 'ERR_STORAGE_UNAVAILABLE'), stall);
    assert.is(((error as Error).cause as Error).message, 'no answer within 200 ms', stall);
  }
  const notJson = await rawServer((res) => res.writeHead(200).end('<html>maintenance</html>'));
  const error = await verifierFor(notJson).ready().then(() => undefined, (e: unknown) => e);
  assert.is(((error as Error).cause as Error).message, 'the body is not JSON');
  const down = await provider();
  down.setUp(false, 500);
  const refused = await verifierFor(down).ready().then(() => undefined, (e: unknown) => e);
  assert.is(((refused as Error).cause as Error).message, 'the key server answered HTTP 500, not 200');
});

C('options: jwksMaxBytes and jwksMaxStaleAge are checked at construction', () => {
  for (const [name, value] of [
    ['jwksMaxBytes', 0],
    ['jwksMaxBytes', 1.5],
    ['jwksMaxBytes', '1000'],
    ['jwksMaxStaleAge', -1],
    ['jwksMaxStaleAge', Number.POSITIVE_INFINITY],
  ] as const) {
    try {
      verifierFor({ jwksUrl: 'https://idp.test/jwks', issuer: 'https://idp.test' }, { [name]: value });
      assert.unreachable(`${name}: ${value}`);
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'));
      assert.match((error as Error).message, new RegExp(`options\\.${name}`));
    }
  }
});

C.run();

const T = suite('JWKS: stale-if-error');

// Guards #26 §4: once jwksCacheMaxAge had passed, a failing key server turned every genuine token into a 503 and a fetch.
T('past jwksCacheMaxAge with the key server failing: genuine tokens verify with the last good set, one fetch per cooldown, until jwksMaxStaleAge', async () => {
  const p = await provider();
  const { clock, read } = frozen();
  const v = verifierFor(p, { jwksCooldown: 1000, jwksCacheMaxAge: 10_000, jwksMaxStaleAge: 60_000, clock: read });
  await v.ready();
  const genuine = await p.sign({ sub: 'alice' });
  p.setUp(false, 500);
  clock.now += 10_000;
  for (let n = 0; n < 400; n++) assert.is((await v.read(genuine)).sub, 'alice');
  assert.is(p.fetches, 2, 'ready(), then one refresh attempt for 400 reads');
  // Still failing: refresh attempts follow the backoff, and the stale set keeps serving.
  clock.now += 30_000;
  assert.is((await v.read(genuine)).sub, 'alice');
  assert.is(p.fetches, 3);
  // Past the stale limit (cache age 10 s + stale 60 s): no usable set, the fetch fails — 503.
  clock.now += 30_000;
  assert.is(await codeOf(v.read(genuine)), 'ERR_STORAGE_UNAVAILABLE');
  assert.is(p.fetches, 4);
  // The key server comes back: the next allowed fetch restores service.
  p.setUp(true);
  clock.now += 4000;
  assert.is((await v.read(genuine)).sub, 'alice');
  assert.is(p.fetches, 5);
});

T('jwksMaxStaleAge 0: no stale set is used', async () => {
  const p = await provider();
  const { clock, read } = frozen();
  const v = verifierFor(p, { jwksCooldown: 1000, jwksCacheMaxAge: 10_000, jwksMaxStaleAge: 0, clock: read });
  await v.ready();
  const genuine = await p.sign({});
  p.setUp(false, 500);
  clock.now += 10_000;
  assert.is(await codeOf(v.read(genuine)), 'ERR_STORAGE_UNAVAILABLE');
});

T.run();

const U = suite('JWKS: a key that cannot be used is not an outage');

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

// Guards #26 §4: a junk token naming a key jose refuses (RSA under 2048 bits, a malformed JWK) answered 503 ERR_STORAGE_UNAVAILABLE.
U('a token whose kid names an RSA key under 2048 bits, or a malformed JWK, is 401 ERR_AUTH_TOKEN_INVALID', async () => {
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const p = await provider(['RS256']);
  const good = p.publicJwk(p.kids()[0]!);
  const keys = [
    { ...weak, kid: 'weak', alg: 'RS256', use: 'sig' },
    { kty: 'EC', crv: 'P-256', x: 'not-a-point', y: '!!', kid: 'broken', alg: 'ES256' },
    { kty: 'RSA', n: 7, e: 'AQAB', kid: 'nonsense', alg: 'RS256' },
    good,
  ];
  const server = await rawServer((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
  const v = verifierFor(server);
  await v.ready();
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: server.issuer, aud: 'account-api', sub: 'mallory', iat: now, exp: now + 300 };
  for (const [kid, alg] of [['weak', 'RS256'], ['broken', 'ES256'], ['nonsense', 'RS256']]) {
    const token = `${b64({ alg, kid, typ: 'JWT' })}.${b64(claims)}.${Buffer.alloc(alg === 'ES256' ? 64 : 128, 1).toString('base64url')}`;
    const error = await v.read(token).then(() => undefined, (e: unknown) => e);
    assert.ok(isSessionError(error, 'ERR_AUTH_TOKEN_INVALID'), kid);
    assert.is((error as { reason?: unknown }).reason, 'unusable_key', kid);
  }
  // The good key of the same set still verifies.
  assert.is((await v.read(await p.sign({ iss: server.issuer }))).sub, 'user-1');
});

U.run();

const H = suite('JWKS: https only, except loopback');

// Guards #20.5: an http jwksUrl to any host let anyone on the path substitute the keys.
H('jwksUrl over plain http is refused at construction, naming the option, except for loopback or allowInsecureJwksUrl', () => {
  const make = (jwksUrl: string, extra: Partial<JwtSessionVerifierOptions> = {}) => verifierFor({ jwksUrl, issuer: 'https://idp.test' }, extra);
  for (const url of ['http://auth.example.com/jwks', 'http://10.0.0.8:8080/jwks', 'http://localhost.example.com/jwks', 'http://127.0.0.1.nip.io/jwks', 'http://[::2]/jwks', 'http://128.0.0.1/']) {
    try {
      make(url);
      assert.unreachable(url);
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'), url);
      assert.match((error as Error).message, /options\.jwksUrl must be an https: URL/, url);
    }
  }
  for (const url of ['https://auth.example.com/jwks', 'http://127.0.0.1:8080/jwks', 'http://127.1.2.3/jwks', 'http://127.1/jwks', 'http://[::1]:9000/jwks', 'http://localhost/jwks', 'http://LOCALHOST:3000/jwks']) {
    make(url);
  }
  make('http://auth.internal/jwks', { allowInsecureJwksUrl: true });
  const refused: [string, Partial<JwtSessionVerifierOptions>, RegExp][] = [
    ['http://auth.internal/jwks', { allowInsecureJwksUrl: 'yes' as never }, /options\.allowInsecureJwksUrl must be a boolean/],
    ['https://user:secret@auth.example.com/jwks', {}, /options\.jwksUrl must not carry a user name or password/],
  ];
  for (const [url, extra, message] of refused) {
    try {
      make(url, extra);
      assert.unreachable(url);
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'));
      assert.match((error as Error).message, message);
      assert.not.ok((error as Error).message.includes('secret'));
    }
  }
});

H('teardown', async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

H.run();

// fast-check over the client's two hostile inputs of #20: the `expiresIn` a
// server answers (items 2) and the URLs an app fetches (item 6).
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, SessionClientError } from '../src/index.js';

const S = suite('fuzz: hostile expiresIn and URLs of other origins');
const RUNS = 100;
const MAX_EXPIRES_IN = 400 * 24 * 3600;

async function check(what: string, property: fc.IAsyncProperty<never>): Promise<void> {
  await fc.assert(property as fc.IAsyncProperty<unknown[]>, { numRuns: RUNS, seed: 20_02 }).catch((error: Error) => assert.unreachable(`${what}: ${error.message.slice(0, 600)}`));
}

const body = (expiresIn: string) => `{"accessToken":"h.p.s","expiresAt":2000000000,"expiresIn":${expiresIn},"sessionId":"s1"}`;

S('any expiresIn text from a real server: adopted only when a number of seconds in [0, 400 days], and never a renewal right after', async () => {
  let answer = '60';
  let refreshes = 0;
  const http = createServer((req, res) => {
    if (req.url === '/auth/refresh') refreshes += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body(answer));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const expiresIn = fc.oneof(
    fc.constantFrom('1e309', '-1e309', '-1', '-0', '0', '1e-400', '0.5', String(MAX_EXPIRES_IN), String(MAX_EXPIRES_IN + 1), '2147484', '9007199254740993', '"60"', 'null', 'true', '{}', '[1]'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.integer({ min: -1e9, max: 1e9 }).map(String),
    fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  );
  try {
    await check('expiresIn', fc.asyncProperty(expiresIn, async (text) => {
      answer = text;
      const client = new SessionClient({ baseUrl: `${url}/auth`, channel: `fuzz-${randomUUID()}` });
      try {
        const value: unknown = JSON.parse(text);
        const sane = typeof value === 'number' && value >= 0 && value <= MAX_EXPIRES_IN;
        const before = refreshes;
        const outcome = await client.signIn({}).then(
          () => 'adopted',
          (error: unknown) => (error instanceof SessionClientError ? error.code : String(error)),
        );
        assert.is(outcome, sane ? 'adopted' : 'ERR_HTTP', text);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.is(refreshes, before, `${text}: ${refreshes - before} renewals right after sign-in`);
      } finally {
        client.close();
      }
    }) as never);
  } finally {
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
});

S('any URL: the token (and a renewal for it) only for the named origins, the endpoints’ and, by default, the page’s', async () => {
  const APP = 'https://app.example';
  const API = 'https://api.example';
  type Target = { url: string; relative: boolean };
  const target: fc.Arbitrary<Target> = fc.oneof(
    fc.webUrl({ withQueryParameters: true, withFragments: true }).map((url) => ({ url, relative: false })),
    fc.constantFrom(
      `${APP}/api`, `${API}/v1`, 'HTTPS://APP.EXAMPLE/x', 'https://app.example:443/x', 'https://app.example:8443/x', 'http://app.example/x',
      'https://app.example.evil.example/x', 'https://app.example@evil.example/x', '//evil.example/x', 'https://evil.example/?u=https://app.example',
      'https://xn--pp-0ia.example/', 'https://api.example./v1', 'wss://app.example/socket', 'blob:https://app.example/1',
    ).map((url) => ({ url, relative: false })),
    // A path-absolute reference; one starting with // names a host (covered above as '//evil.example/x').
    fc.webPath().map((path) => ({ url: `/${path.replace(/^\/+/, '')}`, relative: true })),
  );
  await check('URLs', fc.asyncProperty(target, fc.boolean(), async ({ url, relative }, named) => {
    let refreshes = 0;
    const sent: (string | null)[] = [];
    // Answers the endpoints like the server would, with tokens that are due at once, so every
    // request that takes the token renews it first; records what every other request carried.
    const fetchImpl: typeof fetch = async (input, init) => {
      const href = String(input instanceof Request ? input.url : input);
      if (href === `${APP}/auth/sign-in` || href === `${APP}/auth/refresh`) {
        if (href.endsWith('/refresh')) refreshes += 1;
        return new Response(body('0').replace('h.p.s', `h.p.${refreshes}`), { status: 200 });
      }
      sent.push(new Headers(init?.headers).get('authorization'));
      return new Response('{}', { status: 200 });
    };
    const client = new SessionClient({ baseUrl: `${APP}/auth`, fetch: fetchImpl, channel: false, ...(named ? { tokenOrigins: [API] } : {}) });
    try {
      await client.signIn({});
      let origin: string;
      try {
        origin = new URL(url).origin;
      } catch {
        origin = 'none';
      }
      const expected = relative ? !named : origin === APP || (named && origin === API);
      const before = refreshes;
      await client.fetch(url);
      assert.equal(sent, [expected ? `Bearer h.p.${refreshes}` : null], url);
      assert.is(refreshes - before, expected ? 1 : 0, `${url}: renewals`);
    } finally {
      client.close();
    }
  }) as never);
});

S.run();

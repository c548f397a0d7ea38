// Guards #20 item 6: client.fetch attached the access token to every URL,
// another origin's included, and renewed it for them. A second real server
// (another origin) records what it receives.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, SessionClientError, type SessionClientOptions } from '../src/index.js';
import { rejects } from './support/assert.js';
import { Profile } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('origins that receive the token');
let server: TestServer;
let other: { url: string; seen: (string | undefined)[]; status: number; close(): Promise<void> };
const clients: SessionClient[] = [];

/** Another origin: answers `status` (401 with `invalid_token` when 401) and records each request's Authorization. */
async function otherOrigin(): Promise<typeof other> {
  const seen: (string | undefined)[] = [];
  const state = { status: 200 };
  const http = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(state.status, state.status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {});
    res.end('{}');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  });
}

S.before(async () => {
  server = await startTestServer();
  other = await otherOrigin();
});
S.before.each(() => {
  other.seen.length = 0;
  other.status = 200;
});
S.after.each(() => {
  for (const client of clients.splice(0)) client.close();
});
S.after(async () => {
  await server.close();
  await other.close();
});

function makeClient(options: SessionClientOptions = {}): SessionClient {
  const client = new SessionClient({ baseUrl: `${server.url}/auth`, fetch: new Profile().fetch, channel: `origins-${randomUUID()}`, ...options });
  clients.push(client);
  return client;
}

S('a request to another origin goes without the token; the endpoints’ origin gets it', async () => {
  const client = makeClient();
  await client.signIn({ username: 'oa', password: PASSWORD });
  assert.is((await client.fetch(`${other.url}/collect`)).status, 200);
  assert.is((await client.fetch(new URL(`${other.url}/collect`))).status, 200);
  assert.is((await client.fetch(new Request(`${other.url}/collect`, { method: 'POST', body: 'x' }))).status, 200);
  assert.equal(other.seen, [undefined, undefined, undefined]);
  // Same server, another name: another origin all the same.
  const port = new URL(server.url).port;
  const me = await client.fetch(`http://localhost:${port}/api/me`);
  assert.is(me.status, 401, 'localhost is not the 127.0.0.1 origin: no token sent');
  const own = (await (await client.fetch(`${server.url}/api/me`)).json()) as { auth: string };
  assert.is(own.auth, `Bearer ${await client.token()}`);
});

S('another origin’s 401 invalid_token triggers no renewal, and a signed-out client can still fetch other origins', async () => {
  const client = makeClient();
  await client.signIn({ username: 'ob', password: PASSWORD });
  const rotations = server.rotations();
  other.status = 401;
  assert.is((await client.fetch(`${other.url}/x`)).status, 401);
  assert.is(server.rotations(), rotations, 'no renewal for another origin’s answer');
  assert.equal(other.seen, [undefined]);
  // The caller's own Authorization for a third party goes through untouched.
  other.status = 200;
  await client.fetch(`${other.url}/x`, { headers: { authorization: 'Basic b3duOmtleQ==' } });
  assert.is(other.seen[1], 'Basic b3duOmtleQ==');

  const signedOut = makeClient();
  assert.is((await signedOut.fetch(`${other.url}/x`)).status, 200);
  assert.is((await rejects(signedOut.fetch(`${server.url}/api/me`))).code, 'ERR_NOT_SIGNED_IN', 'an own-origin request still needs a session');
});

S('tokenOrigins names the origins that get it (case and a trailing slash do not matter); the endpoints’ origin always does', async () => {
  const client = makeClient({ tokenOrigins: [`${other.url.toUpperCase()}/`] });
  await client.signIn({ username: 'oc', password: PASSWORD });
  await client.fetch(`${other.url}/api`);
  assert.equal(other.seen, [`Bearer ${await client.token()}`]);
  assert.is((await client.fetch(`${server.url}/api/me`)).status, 200);
});

S('tokenOrigins must hold origins: anything else is ERR_CONFIG_INVALID naming it', () => {
  for (const tokenOrigins of ['https://a.example', ['https://a.example/path'], ['a.example'], [42], ['https://a.example?q'], [null], ['data:text/plain,x']]) {
    try {
      new SessionClient({ tokenOrigins: tokenOrigins as string[] });
      assert.unreachable(JSON.stringify(tokenOrigins));
    } catch (error) {
      assert.instance(error, SessionClientError);
      assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, 'tokenOrigins');
    }
  }
  new SessionClient({ tokenOrigins: [], channel: false }).close();
});

S.run();

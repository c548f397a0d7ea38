// Guards #20 item 2: the renewal loop. Each case counts the refresh requests a
// real server received: a 30-day access token (longer than setTimeout's
// 2^31-1 ms) and an expiresIn of 1e309 (JSON for Infinity) made the client
// renew back to back, hundreds of times a second; so did tokens that expire as
// they arrive.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient } from '../src/index.js';
import { rejects } from './support/assert.js';
import { Profile } from './support/browser.js';
import { PASSWORD, startTestServer } from './support/server.js';

const S = suite('renewal loop');
const DAY = 24 * 3600;
const clients: SessionClient[] = [];

S.after.each(() => {
  for (const client of clients.splice(0)) client.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function makeClient(baseUrl: string): SessionClient {
  const client = new SessionClient({ baseUrl, fetch: new Profile().fetch, channel: `renewal-${randomUUID()}` });
  clients.push(client);
  return client;
}

/**
 * A server that breaks the contract in one field: sign-in and refresh answer
 * the session body with `expiresIn` written as the raw JSON text the test
 * sets (so 1e309 reaches the client as written). Counts the refreshes.
 */
async function rawServer() {
  let signIn = '60';
  let refresh = '60';
  let refreshes = 0;
  const answer = (res: ServerResponse, expiresIn: string) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`{"accessToken":"h.p.s","expiresAt":2000000000,"expiresIn":${expiresIn},"sessionId":"s1"}`);
  };
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/auth/sign-in') return answer(res, signIn);
    refreshes += 1;
    answer(res, refresh);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    set(values: { signIn?: string; refresh?: string }) {
      signIn = values.signIn ?? signIn;
      refresh = values.refresh ?? refresh;
    },
    refreshes: () => refreshes,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

S('a 30-day access token (past setTimeout’s 2^31-1 ms): no renewal until it is due, and it works', async () => {
  const server = await startTestServer({ accessTokenTtl: 30 * DAY, refreshTokenTtl: 60 * DAY });
  try {
    const client = makeClient(`${server.url}/auth`);
    await client.signIn({ username: 'long', password: PASSWORD });
    await sleep(1000);
    assert.is(server.rotations(), 0, `${server.rotations()} renewals in 1 s`);
    assert.is((await client.fetch(`${server.url}/api/me`)).status, 200);
  } finally {
    await server.close();
  }
});

S('tokens that expire as they arrive (1 s access tokens): timed renewals back off (1 s, 2 s, …), never back to back', async () => {
  const server = await startTestServer({ accessTokenTtl: 1 });
  try {
    const client = makeClient(`${server.url}/auth`);
    await client.signIn({ username: 'brief', password: PASSWORD });
    await sleep(3500);
    // At about 1 s, then 3 s (the gap doubled): two; a little scheduling slack allows a third.
    const rotations = server.rotations();
    assert.ok(rotations >= 1 && rotations <= 3, `${rotations} renewals in 3.5 s`);
    const gaps = server.rotationTimes.slice(1).map((t, i) => t - server.rotationTimes[i]!);
    assert.ok(gaps.every((gap) => gap >= 900), `renewals ${gaps.join(', ')} ms apart`);
    assert.ok(client.session !== null, 'still signed in');
  } finally {
    await server.close();
  }
});

S('an expiresIn that is Infinity (1e309), negative, over 400 days or not a number: sign-in and restore reject with ERR_HTTP, nothing is scheduled', async () => {
  const server = await rawServer();
  try {
    for (const expiresIn of ['1e309', '-1e309', '-1', String(400 * DAY + 1), '"60"', 'null', '[60]']) {
      server.set({ signIn: expiresIn, refresh: expiresIn });
      const client = makeClient(`${server.url}/auth`);
      const signIn = await rejects(client.signIn({ username: 'x', password: PASSWORD }));
      assert.is(signIn.code, 'ERR_HTTP', expiresIn);
      assert.is(client.session, null);
      const before = server.refreshes();
      assert.is((await rejects(client.restore())).code, 'ERR_HTTP', expiresIn);
      await sleep(100);
      assert.is(server.refreshes(), before + 1, `${expiresIn}: ${server.refreshes() - before} refreshes`);
    }
    // The bounds themselves are taken.
    for (const expiresIn of ['0', String(400 * DAY)]) {
      server.set({ signIn: expiresIn });
      await makeClient(`${server.url}/auth`).signIn({});
    }
  } finally {
    await server.close();
  }
});

S('a renewal answered with expiresIn 1e309 is a failed renewal: the session stays, retried with backoff, not in a loop', async () => {
  const server = await rawServer();
  try {
    server.set({ signIn: '2', refresh: '1e309' });
    const client = makeClient(`${server.url}/auth`);
    await client.signIn({});
    const token = await client.token();
    await sleep(2500);
    // Due at about 0.4 s (floored to 1 s), then retried 0.5 s and 1 s later.
    const refreshes = server.refreshes();
    assert.ok(refreshes >= 1 && refreshes <= 4, `${refreshes} refreshes in 2.5 s`);
    assert.is(client.session?.sessionId, 's1');
    assert.is(await client.token().catch(() => token), token, 'the Infinity token was not adopted');
  } finally {
    await server.close();
  }
});

S.run();

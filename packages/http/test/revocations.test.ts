import type { RedisServer } from '@jwt-session/redis-harness';
import { JwtSessionVerifier, PollingInvalidationBroadcaster, SessionError, type InvalidationBroadcaster, type JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RevocationLogBody, SessionEndpointsOptions } from '../src/index.js';
import { expressFramework, fastifyFramework, honoFramework } from './frameworks.js';
import { Cleanup, SECRET, makeManager, rawRequest, type Framework } from './support.js';

/*
 * GET {base}/revocations over real servers (Express, Fastify, Hono on
 * @hono/node-server), and PollingInvalidationBroadcaster following it into a
 * JwtSessionVerifier: a session revoked at the origin is refused by the
 * verifier, on the memory broadcaster and on Redis.
 */

const LOG_SECRET = 'revocation-log-secret-0123456789-abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`never happened: ${what}`);
    await sleep(10);
  }
}

async function refused(verifier: JwtSessionVerifier, token: string): Promise<boolean> {
  return verifier.read(token).then(
    () => false,
    (error: { code?: string }) => error.code === 'ERR_SESSION_REVOKED',
  );
}

/** An origin: a manager on a MemoryBroadcaster serving its log through `framework`. */
async function origin(c: Cleanup, framework: Framework, revocations: Partial<NonNullable<SessionEndpointsOptions['revocations']>> = {}) {
  const broadcaster = new MemoryBroadcaster();
  const manager = makeManager(c, { broadcaster });
  const url = await framework.start(c, manager, { endpoints: { revocations: { broadcaster, secret: LOG_SECRET, ...revocations } } });
  return { manager, url, log: `${url}/auth/revocations` };
}

function verifierFor(c: Cleanup, broadcaster: PollingInvalidationBroadcaster): JwtSessionVerifier {
  const cache = new MemoryInvalidAccessTokenCache();
  const verifier = new JwtSessionVerifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: 'https://auth.test', audience: 'https://api.test', invalidAccessTokenCache: cache, broadcaster });
  c.add(async () => {
    await verifier.close();
    await broadcaster.close();
    cache.close();
  });
  return verifier;
}

const poll = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { authorization: `Bearer ${LOG_SECRET}`, ...headers } });

for (const framework of [expressFramework, fastifyFramework, honoFramework]) {
  const S = suite(`GET {base}/revocations on ${framework.name}`);

  S('serves the revocations made at the origin as pages with a next cursor and an ETag; If-None-Match on an idle log is a 304 without a body', async () => {
    const c = new Cleanup();
    try {
      const o = await origin(c, framework, { pageSize: 2 });
      const sessions = await Promise.all(['a', 'b', 'c'].map((user) => o.manager.create(user)));
      for (const [n, s] of sessions.entries()) await o.manager.deleteOne(['a', 'b', 'c'][n]!, s.sessionId);
      const first = await poll(o.log);
      assert.is(first.status, 200);
      assert.is(first.headers.get('cache-control'), 'no-store');
      const page1 = (await first.json()) as RevocationLogBody;
      assert.is(page1.entries.length, 2);
      assert.is(page1.more, true);
      assert.is(first.headers.get('etag'), `"${page1.next}"`);
      const page2 = (await (await poll(`${o.log}?after=${page1.next}`)).json()) as RevocationLogBody;
      assert.is(page2.entries.length, 1);
      assert.is(page2.more, false);
      const served = [...page1.entries, ...page2.entries].map((e) => (e.event as { sessionId: string }).sessionId);
      assert.equal(served, sessions.map((s) => s.sessionId));
      // Subject and session ids and times: no token, no secret.
      for (const entry of [...page1.entries, ...page2.entries]) assert.equal(Object.keys(entry.event).sort(), ['at', 'expiresAt', 'reason', 'sessionId', 'subject', 'type']);
      const idle = await poll(`${o.log}?after=${page2.next}`, { 'if-none-match': `"${page2.next}"` });
      assert.is(idle.status, 304);
      assert.is(idle.headers.get('etag'), `"${page2.next}"`);
      assert.is(await idle.text(), '');
      // A revocation since: the same validator no longer matches.
      const d = await o.manager.create('d');
      await o.manager.deleteOne('d', d.sessionId);
      const fresh = await poll(`${o.log}?after=${page2.next}`, { 'if-none-match': `W/"x", "${page2.next}"` });
      assert.is(fresh.status, 200);
      assert.equal(((await fresh.json()) as RevocationLogBody).entries.map((e) => (e.event as { sessionId: string }).sessionId), [d.sessionId]);
    } finally {
      await c.run();
    }
  });

  S('refuses without the secret: 401, a Bearer challenge, no body (none, a wrong one, another scheme, two Authorization headers)', async () => {
    const c = new Cleanup();
    try {
      const o = await origin(c, framework);
      for (const headers of [{}, { authorization: `Bearer ${LOG_SECRET}x` }, { authorization: `Basic ${LOG_SECRET}` }, { authorization: 'Bearer' }]) {
        const res = await fetch(o.log, { headers });
        assert.is(res.status, 401, JSON.stringify(headers));
        assert.is(res.headers.get('www-authenticate'), 'Bearer realm="revocations"');
        assert.is(await res.text(), '');
      }
      const twice = await rawRequest(o.log, 'GET', ['Authorization', `Bearer ${LOG_SECRET}`, 'Authorization', `Bearer ${LOG_SECRET}`]);
      assert.is(twice.status, 401);
    } finally {
      await c.run();
    }
  });

  S('an after that is not a cursor of the log is a 400 ERR_REVOCATION_CURSOR_INVALID; without the option the route does not exist', async () => {
    const c = new Cleanup();
    try {
      const o = await origin(c, framework);
      for (const after of ['not%20a%20cursor', '1-2&after=3-4', 'zz']) {
        const res = await poll(`${o.log}?after=${after}`);
        assert.is(res.status, 400, after);
        assert.is(((await res.json()) as { error: string }).error, 'ERR_REVOCATION_CURSOR_INVALID');
      }
      const plain = await framework.start(c, makeManager(c), { endpoints: {} });
      assert.is((await poll(`${plain}/auth/revocations`)).status, 404);
    } finally {
      await c.run();
    }
  });

  S.run();
}

const P = suite('PollingInvalidationBroadcaster following GET {base}/revocations');

P('a session revoked at the origin is refused by a verifier polling it (Express, memory); a late joiner catches up on ready()', async () => {
  const c = new Cleanup();
  try {
    const o = await origin(c, expressFramework);
    const early = await o.manager.create('alice');
    await o.manager.deleteOne('alice', early.sessionId);
    const verifier = verifierFor(c, new PollingInvalidationBroadcaster({ url: o.log, secret: LOG_SECRET, interval: 50 }));
    await verifier.ready();
    assert.ok(await refused(verifier, early.accessToken), 'a revocation made before the verifier started is not enforced after ready()');
    const live = await o.manager.create('bob');
    assert.is((await verifier.read(live.accessToken)).sub, 'bob');
    await o.manager.deleteAll('bob');
    await eventually(() => refused(verifier, live.accessToken), 'the verifier refuses the token revoked at the origin');
  } finally {
    await c.run();
  }
});

P('the log read fails at the origin (a broadcaster that cannot answer): the poll is a 503 there and a backoff here; the endpoint reports it to onError', async () => {
  const c = new Cleanup();
  try {
    const broadcaster = new MemoryBroadcaster();
    let down = false;
    // What the Redis and PostgreSQL broadcasters throw when their backend does not answer.
    const failing: InvalidationBroadcaster = {
      subscribe: (receiver) => broadcaster.subscribe(receiver),
      entriesAfter: (after, limit) => (down ? Promise.reject(new SessionError('ERR_STORAGE_UNAVAILABLE', undefined, undefined, 'broadcast')) : broadcaster.entriesAfter(after, limit)),
    };
    const errors: unknown[] = [];
    const manager = makeManager(c, { broadcaster });
    const url = await honoFramework.start(c, manager, { endpoints: { onError: (e) => errors.push(e), revocations: { broadcaster: failing, secret: LOG_SECRET } } });
    const polling = new PollingInvalidationBroadcaster({ url: `${url}/auth/revocations`, secret: LOG_SECRET, interval: 30, maxBackoff: 120 });
    const verifier = verifierFor(c, polling);
    await verifier.ready();
    down = true;
    const s = await manager.create('carol');
    await manager.deleteOne('carol', s.sessionId);
    await sleep(400);
    const failure = await polling.sync().then(() => undefined, (e: { code?: string }) => e.code);
    assert.is(failure, 'ERR_STORAGE_UNAVAILABLE');
    assert.ok(errors.length >= 1 && errors.length <= 8, `${errors.length} failed polls in 400 ms (no backoff would be about 13)`);
    assert.not.ok(await refused(verifier, s.accessToken));
    down = false;
    await eventually(() => refused(verifier, s.accessToken), 'enforced once the origin answers again');
  } finally {
    await c.run();
  }
});

let redis: RedisServer | undefined;
P.after(async () => {
  await redis?.stop();
});

P('over Redis: a revocation on one node of the origin reaches the verifier through the other node\'s endpoint (Fastify)', async () => {
  const c = new Cleanup();
  try {
    const storage = await import('@jwt-session/storage-redis');
    redis ??= await (await import('@jwt-session/redis-harness')).startRedis();
    const prefix = `edge-${randomBytes(4).toString('hex')}:`;
    const node = async () => {
      const client = new Redis(redis!.url);
      client.on('error', () => undefined);
      c.add(() => client.disconnect());
      const broadcaster = new storage.RedisInvalidationBroadcaster(client, { keyPrefix: prefix });
      c.add(() => broadcaster.close());
      const manager: JwtUserSessionManager = makeManager(c, { refreshTokenStore: new storage.RedisRefreshTokenStore(client, { keyPrefix: prefix }), broadcaster });
      await manager.ready();
      return { manager, broadcaster };
    };
    const a = await node();
    const b = await node();
    const served = await fastifyFramework.start(c, b.manager, { endpoints: { revocations: { broadcaster: b.broadcaster, secret: LOG_SECRET } } });
    const verifier = verifierFor(c, new PollingInvalidationBroadcaster({ url: `${served}/auth/revocations`, secret: LOG_SECRET, interval: 50 }));
    await verifier.ready();
    const s = await a.manager.create('dave');
    assert.is((await verifier.read(s.accessToken)).sub, 'dave');
    await a.manager.deleteOne('dave', s.sessionId);
    await eventually(() => refused(verifier, s.accessToken), 'the verifier refuses the token revoked on node A');
    // The stream id is the cursor: an idle poll is a 304.
    const last = (await (await poll(`${served}/auth/revocations`)).json()) as RevocationLogBody;
    assert.match(last.next, /^\d+-\d+$/);
    assert.is((await poll(`${served}/auth/revocations?after=${last.next}`, { 'if-none-match': `"${last.next}"` })).status, 304);
    // A memory cursor is not a stream id.
    assert.is((await poll(`${served}/auth/revocations?after=abc-1`)).status, 400);
  } finally {
    await c.run();
  }
});

P('options are checked at construction: a broadcaster without entriesAfter, a short secret (never quoted), a page size, an unknown key', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const broadcaster = new MemoryBroadcaster();
    for (const [revocations, message] of [
      [{ broadcaster: { subscribe: () => undefined }, secret: LOG_SECRET }, /options\.revocations\.broadcaster must be a broadcaster with entriesAfter/],
      [{ broadcaster, secret: 'short-secret' }, /options\.revocations\.secret must be/],
      [{ broadcaster, secret: [] }, /options\.revocations\.secret must be/],
      [{ broadcaster, secret: LOG_SECRET, pageSize: 5000 }, /options\.revocations\.pageSize must be an integer from 1 to 1000/],
      [{ broadcaster, secret: LOG_SECRET, pagesize: 5 }, /options\.revocations\.pagesize is not an option/],
      ['yes', /options\.revocations\. must be an object/],
    ] as const) {
      for (const framework of [expressFramework, fastifyFramework, honoFramework]) {
        let error: { code?: string; message?: string } = {};
        await framework.construct(manager, { revocations }).catch((e: { code?: string; message?: string }) => (error = e));
        assert.is(error.code, 'ERR_CONFIG_INVALID', `${framework.name}: ${message}`);
        assert.match(error.message ?? '', message);
        assert.not.match(error.message ?? '', 'short-secret');
      }
    }
  } finally {
    await c.run();
  }
});

P('two secrets during a rotation are both accepted', async () => {
  const c = new Cleanup();
  try {
    const next = 'the-next-revocation-log-secret-0123456789';
    const broadcaster = new MemoryBroadcaster();
    const url = await expressFramework.start(c, makeManager(c, { broadcaster }), { endpoints: { revocations: { broadcaster, secret: [LOG_SECRET, next] } } });
    for (const secret of [LOG_SECRET, next]) assert.is((await fetch(`${url}/auth/revocations`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
  } finally {
    await c.run();
  }
});

P.run();

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PollingInvalidationBroadcaster, RevocationPollError, type PollingInvalidationBroadcasterOptions } from '../src/index.js';
import type { InvalidationEvent, InvalidationReceiver, SessionInvalidation, SubjectInvalidation } from '../src/storage.js';

/*
 * PollingInvalidationBroadcaster against a real HTTP server speaking the
 * revocation log's wire contract (`GET …/revocations?after=`, Bearer secret,
 * ETag / If-None-Match, pages with `next` and `more`), written out here so
 * each test can make the origin misbehave. The same broadcaster against
 * @jwt-session/http's own endpoint is tested in that package.
 */

const SECRET = 'polling-broadcaster-test-secret-0123456789';
const ID = (n: number) => `AAAA${String(n).padStart(22, '0')}`;
const session = (n: number, expiresAt = Date.now() + 60_000): SessionInvalidation => ({ type: 'session', subject: 'alice', sessionId: ID(n), reason: 'deleted', at: Date.now(), expiresAt });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Recorder implements InvalidationReceiver {
  readonly events: InvalidationEvent[] = [];
  restrictOne(event: SessionInvalidation): void {
    this.events.push(event);
  }
  restrictAll(event: SubjectInvalidation): void {
    this.events.push(event);
  }
}

async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`never happened: ${what}`);
    await sleep(10);
  }
}

async function codeOf(promise: Promise<unknown>): Promise<{ code?: string; reason?: string; cause?: unknown }> {
  try {
    await promise;
    return {};
  } catch (error) {
    return error as { code?: string };
  }
}

/** An origin: a log of events numbered from 1, pages of `pageSize`; `override` answers instead when it returns true. */
class Origin {
  readonly log: InvalidationEvent[] = [];
  readonly requests: { at: number; after: string | null; ifNoneMatch: string | undefined; authorization: string | undefined }[] = [];
  pageSize = 100;
  override: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  server!: Server;
  url!: string;

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.#answer(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/auth/revocations`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    this.requests.push({ at: Date.now(), after: url.searchParams.get('after'), ifNoneMatch: req.headers['if-none-match'], authorization: req.headers.authorization });
    if (this.override?.(req, res)) return;
    if (req.headers.authorization !== `Bearer ${SECRET}`) return void res.writeHead(401).end();
    const after = Number(url.searchParams.get('after') ?? '0');
    const page = this.log.slice(after, after + this.pageSize);
    const next = String(after + page.length);
    if (req.headers['if-none-match'] === `"${next}"`) return void res.writeHead(304, { etag: `"${next}"` }).end();
    const body = { entries: page.map((event, n) => ({ id: String(after + n + 1), event })), next, more: after + page.length < this.log.length };
    res.writeHead(200, { 'content-type': 'application/json', etag: `"${next}"` }).end(JSON.stringify(body));
  }
}

const S = suite<{ origin: Origin; closers: (() => Promise<unknown>)[] }>('PollingInvalidationBroadcaster');
S.before.each(async (ctx) => {
  ctx.origin = await new Origin().start();
  ctx.closers = [];
});
S.after.each(async (ctx) => {
  for (const close of ctx.closers) await close();
  await ctx.origin.stop();
});

function poller(ctx: { origin: Origin; closers: (() => Promise<unknown>)[] }, options: Partial<PollingInvalidationBroadcasterOptions> = {}): PollingInvalidationBroadcaster {
  const b = new PollingInvalidationBroadcaster({ url: ctx.origin.url, secret: SECRET, interval: 50, ...options });
  ctx.closers.push(() => b.close());
  return b;
}

S('a late subscriber is replayed the log, page by page, before ready() resolves; expired and malformed entries are skipped', async (ctx) => {
  ctx.origin.pageSize = 2;
  ctx.origin.log.push(session(1), session(2, Date.now() - 1), { type: 'session', subject: '', sessionId: 'x', reason: 'deleted', at: 1, expiresAt: Date.now() + 60_000 } as never, session(4), session(5));
  const r = new Recorder();
  const sub = poller(ctx, { interval: 60_000 }).subscribe(r);
  await sub.ready();
  assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1), ID(4), ID(5)]);
  assert.equal(ctx.origin.requests.map((q) => q.after), [null, '2', '4'], 'three pages, each from the cursor of the one before');
  assert.is(ctx.origin.requests[0]!.authorization, `Bearer ${SECRET}`);
});

S('each poll resumes from the last entry applied and asks with If-None-Match: what is new arrives once, an idle origin answers 304', async (ctx) => {
  const r = new Recorder();
  const sub = poller(ctx).subscribe(r);
  await sub.ready();
  ctx.origin.log.push(session(1));
  await eventually(() => r.events.length === 1, 'the first revocation');
  ctx.origin.log.push(session(2));
  await eventually(() => r.events.length === 2, 'the second revocation');
  await sleep(200);
  assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1), ID(2)]);
  const later = ctx.origin.requests.filter((q) => q.after === '2');
  assert.ok(later.length >= 2, 'the poller stopped polling');
  assert.ok(later.every((q) => q.ifNoneMatch === '"2"'), 'a poll did not ask with its cursor as If-None-Match');
});

S('failures back off (interval·2^n, at most maxBackoff); ready() and sync() reject with ERR_STORAGE_UNAVAILABLE meanwhile; polling resumes where it was', async (ctx) => {
  ctx.origin.log.push(session(1));
  const r = new Recorder();
  const b = poller(ctx, { interval: 40, maxBackoff: 320 });
  const sub = b.subscribe(r);
  await sub.ready();
  ctx.origin.override = (_req, res) => (res.writeHead(503).end(), true);
  const failingFrom = ctx.origin.requests.length;
  await sleep(1500);
  const failing = ctx.origin.requests.slice(failingFrom);
  const gaps = failing.slice(1).map((q, n) => q.at - failing[n]!.at);
  // Without backoff, 1.5 s at 40 ms is about 37 polls; with it 80, 160, 320, 320 … about 6.
  assert.ok(failing.length >= 3 && failing.length <= 10, `${failing.length} polls while failing`);
  for (const [n, gap] of gaps.entries()) assert.ok(gap >= Math.min(320, 40 * 2 ** (n + 1)) - 15, `gap ${n}: ${gap} ms`);
  const error = await codeOf(b.sync());
  assert.is(error.code, 'ERR_STORAGE_UNAVAILABLE');
  assert.is(error.reason, 'broadcast');
  assert.instance(error.cause, RevocationPollError);
  assert.match((error.cause as Error).message, /HTTP 503/);
  assert.not.match((error.cause as Error).message, SECRET);
  ctx.origin.override = undefined;
  ctx.origin.log.push(session(2));
  await eventually(() => r.events.length === 2, 'the revocation made during the outage');
  // Resumed from its cursor: no poll since the outage began asked from the start.
  assert.ok(ctx.origin.requests.slice(failingFrom).every((q) => q.after === '1' || q.after === '2'), 'a poll started again from the start');
  await b.sync();
});

S('ready() rejects when the first poll fails (a wrong secret: 401), and resolves on a later call once a poll succeeds', async (ctx) => {
  ctx.origin.log.push(session(1));
  let refuse = true;
  ctx.origin.override = (_req, res) => (refuse ? (res.writeHead(401).end(), true) : false);
  const r = new Recorder();
  const sub = poller(ctx, { interval: 20, maxBackoff: 40 }).subscribe(r);
  const first = await codeOf(sub.ready());
  assert.is(first.code, 'ERR_STORAGE_UNAVAILABLE');
  assert.match((first.cause as Error).message, /HTTP 401/);
  refuse = false;
  await eventually(() => r.events.length === 1, 'the replay after the origin accepted');
  await sub.ready();
});

S('answers that are not a page fail the poll: junk JSON, a wrong shape, a body over maxBytes, a redirect (not followed), no answer in time', async (ctx) => {
  const cases: [string, (res: ServerResponse) => void, RegExp][] = [
    ['junk', (res) => res.writeHead(200).end('{"entries": ['), /not JSON/],
    ['shape', (res) => res.writeHead(200).end(JSON.stringify({ entries: [], next: 'bad cursor!', more: false })), /not a page/],
    ['big', (res) => res.writeHead(200).end(JSON.stringify({ entries: [], next: '1', more: false, pad: 'x'.repeat(5000) })), /larger than 4096 bytes/],
    ['redirect', (res) => res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end(), /HTTP (302|0)/],
    ['slow', () => undefined, /no answer within 300 ms/],
  ];
  for (const [name, answer, why] of cases) {
    ctx.origin.override = (_req, res) => (answer(res), true);
    const b = poller(ctx, { timers: false, maxBytes: 4096, timeout: 300 });
    const error = await codeOf(b.subscribe(new Recorder()).ready());
    assert.is(error.code, 'ERR_STORAGE_UNAVAILABLE', name);
    assert.match((error.cause as Error).message, why, name);
    await b.close();
  }
  assert.ok(!ctx.origin.requests.some((q) => q.after === null && q.authorization === undefined), 'a redirect was followed');
});

S('timers: false polls only in sync() (or the first ready()), once per interval however many calls come', async (ctx) => {
  const r = new Recorder();
  const b = poller(ctx, { timers: false, interval: 300 });
  const sub = b.subscribe(r);
  await sleep(100);
  assert.is(ctx.origin.requests.length, 0, 'it polled without being asked');
  await sub.ready();
  assert.is(ctx.origin.requests.length, 1);
  ctx.origin.log.push(session(1));
  await Promise.all([b.sync(), b.sync(), b.sync()]);
  assert.is(ctx.origin.requests.length, 1, 'a poll before the interval was over');
  assert.equal(r.events, []);
  await sleep(320);
  await Promise.all([b.sync(), b.sync()]);
  assert.is(ctx.origin.requests.length, 2, 'concurrent syncs made more than one poll');
  assert.equal(r.events.map((e) => (e as SessionInvalidation).sessionId), [ID(1)]);
});

S('a throwing receiver stops nothing; publish is refused (revocations are made at the origin); close() aborts a poll in flight', async (ctx) => {
  ctx.origin.log.push(session(1), session(2));
  let calls = 0;
  const b = poller(ctx, { interval: 60_000 });
  const sub = b.subscribe({
    restrictOne: () => {
      calls++;
      throw new Error('receiver bug');
    },
    restrictAll: () => undefined,
  });
  await sub.ready();
  assert.is(calls, 2);
  assert.is((await codeOf(sub.publish(session(3)))).code, 'ERR_CONFIG_INVALID');
  ctx.origin.override = () => true; // never answers
  const hung = poller(ctx, { timers: false, timeout: 60_000 });
  const pending = hung.subscribe(new Recorder()).ready().catch(() => undefined);
  await eventually(() => ctx.origin.requests.length === 2, 'the hung poll reached the origin');
  const t0 = Date.now();
  await hung.close();
  await pending;
  assert.ok(Date.now() - t0 < 1000, 'close() waited for the hung poll');
});

S('options are checked at construction, naming the option and never quoting the secret', () => {
  const base = { url: 'https://auth.example.com/auth/revocations', secret: SECRET };
  for (const [options, message] of [
    [{ ...base, url: 'http://auth.example.com/x' }, /options\.url must be an https: URL .*allowInsecureUrl/],
    [{ ...base, url: 'ftp://x' }, /options\.url must be an http\(s\) URL/],
    [{ ...base, secret: 'short' }, /options\.secret must be 32 to 512/],
    [{ ...base, interval: 0 }, /options\.interval must be a positive/],
    [{ ...base, interval: 1000, maxBackoff: 10 }, /options\.maxBackoff must not be shorter/],
    [{ ...base, maxBytes: 1.5 }, /options\.maxBytes must be a positive integer/],
    [{ ...base, timers: 'no' }, /options\.timers must be a boolean/],
    [{ ...base, fetch: 'no' }, /options\.fetch must be a function/],
    [{ ...base, clock: 1 }, /options\.clock must be a function/],
    [{ ...base, allowInsecureUrl: 'yes' }, /options\.allowInsecureUrl must be a boolean/],
    [{ ...base, intervall: 5 }, /options\.intervall is not an option/],
    [null, /must be an object with url and secret/],
  ] as const) {
    try {
      new PollingInvalidationBroadcaster(options as never);
      assert.unreachable(`accepted ${message}`);
    } catch (error) {
      assert.is((error as { code: string }).code, 'ERR_CONFIG_INVALID');
      assert.match((error as Error).message, message);
      assert.not.match((error as Error).message, SECRET);
    }
  }
  new PollingInvalidationBroadcaster({ ...base, url: 'http://auth.internal/x', allowInsecureUrl: true });
});

S('a fetch of the caller\'s (a Worker\'s service binding) carries every poll', async (ctx) => {
  const seen: string[] = [];
  const b = poller(ctx, {
    url: 'https://origin.internal/auth/revocations',
    fetch: (target, init) => {
      seen.push(target.pathname);
      return fetch(ctx.origin.url + target.search, init);
    },
  });
  ctx.origin.log.push(session(1));
  const r = new Recorder();
  await b.subscribe(r).ready();
  assert.equal(seen, ['/auth/revocations']);
  assert.is(r.events.length, 1);
});

S.run();

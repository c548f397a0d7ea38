import { ALL_SESSIONS_INVALIDATED, SESSION_INVALIDATED, type JwtUserSessionManager, type SessionTokens } from '@jwt-session/session-core';
import { startRedis, type RedisServer } from '@jwt-session/redis-harness';
import type { Redis } from 'ioredis';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { closeLater, ioredisMajors, makeManager, sleep, teardown, track, uniquePrefix } from './helpers.js';

/*
 * Two (or three) application nodes in separate processes sharing one Redis:
 * node A in the test process, the others forked (`node --import tsx`) and
 * driven over IPC. What A revokes, the others must reject.
 */
const NODE = fileURLToPath(new URL('./fixtures/node.ts', import.meta.url));

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  code?: string;
}

class RemoteNode {
  readonly readerName = `reader-${randomBytes(4).toString('hex')}`;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  readonly started: Promise<void>;
  #next = 1;

  constructor(port: number, prefix: string, major: number) {
    this.#child = fork(NODE, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, REDIS_PORT: String(port), KEY_PREFIX: prefix, READER_NAME: this.readerName, IOREDIS_MAJOR: String(major) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.started = new Promise((resolve, reject) => {
      this.#child.once('error', reject);
      this.#pending.set(0, () => resolve());
    });
    this.#child.on('message', (reply: Reply) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
  }

  request(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ id, op, ...args });
    });
  }

  /** The sid when the token is accepted, else the error code. */
  async read(token: string): Promise<string> {
    const reply = await this.request('read', { token });
    return reply.ok ? 'ok' : reply.code!;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await Promise.race([this.request('close'), sleep(2000)]);
    await Promise.race([exited, sleep(2000)]);
    this.#child.kill('SIGKILL');
  }
}

interface Ctx {
  server: RedisServer;
  admin: Redis;
  prefix: string;
  a: JwtUserSessionManager;
  aRemote: string[];
  b: RemoteNode;
  stream: string;
}

async function until(check: () => Promise<boolean>, what: string, timeout = 5000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeout) assert.unreachable(`timed out waiting for ${what}`);
    await sleep(2);
  }
  return performance.now() - start;
}

async function readerIds(admin: Redis, name: string): Promise<string[]> {
  const list = (await admin.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
}

for (const io of ioredisMajors) {
  const S = suite<Ctx>(`propagation between processes (${io.name})`);

  S.before(async (ctx) => {
    ctx.server = await startRedis();
    ctx.admin = track(new io.Redis(ctx.server.port));
    ctx.prefix = uniquePrefix('prop');
    const client = track(new io.Redis(ctx.server.port));
    const broadcaster = closeLater(new RedisInvalidationBroadcaster(client, { keyPrefix: ctx.prefix }));
    ctx.stream = broadcaster.streamKey;
    ctx.a = makeManager({ refreshTokenStore: new RedisRefreshTokenStore(client, { keyPrefix: ctx.prefix }), broadcaster });
    ctx.aRemote = [];
    ctx.a.on(SESSION_INVALIDATED, (e) => e.origin === 'remote' && ctx.aRemote.push(`session:${e.sessionId}`));
    ctx.a.on(ALL_SESSIONS_INVALIDATED, (e) => e.origin === 'remote' && ctx.aRemote.push(`subject:${e.subject}`));
    ctx.b = closeLater(new RemoteNode(ctx.server.port, ctx.prefix, io.major));
    await ctx.b.started;
    await Promise.all([ctx.a.ready(), ctx.b.request('ready')]);
  });

  S.after(async (ctx) => {
    await teardown();
    await ctx.server.stop();
  });

  S('deleteOne and deleteAll on A: B rejects the affected access tokens with ERR_SESSION_REVOKED', async (ctx) => {
    const one = await ctx.a.create('alice');
    const other = await ctx.a.create('alice');
    const bob = [await ctx.a.create('bob'), await ctx.a.create('bob')];
    for (const t of [one, other, ...bob]) assert.is(await ctx.b.read(t.accessToken), 'ok');
    await ctx.a.deleteOne('alice', one.sessionId);
    const latency = await until(async () => (await ctx.b.read(one.accessToken)) === 'ERR_SESSION_REVOKED', 'deleteOne to reach B');
    assert.is(await ctx.b.read(other.accessToken), 'ok', 'another session was revoked');
    await ctx.a.deleteAll('bob');
    await until(async () => (await ctx.b.read(bob[0]!.accessToken)) === 'ERR_SESSION_REVOKED', 'deleteAll to reach B');
    assert.is(await ctx.b.read(bob[1]!.accessToken), 'ERR_SESSION_REVOKED');
    console.log(`  deleteOne on A → rejected on B after ${latency.toFixed(1)} ms (including IPC round trips)`);
  });

  S('B’s reading connection killed with CLIENT KILL, revoke on A while it is down: B enforces it after reconnecting', async (ctx) => {
    const t = await ctx.a.create('carol');
    const t2 = await ctx.a.create('dave');
    assert.is(await ctx.b.read(t.accessToken), 'ok');
    const before = await readerIds(ctx.admin, ctx.b.readerName);
    assert.is(before.length, 1);
    await ctx.admin.client('KILL', 'ID', before[0]!);
    // Both revocations are written before B's client can reconnect (its first retry waits 50 ms).
    await ctx.a.deleteOne('carol', t.sessionId);
    await ctx.a.deleteAll('dave');
    assert.equal(await readerIds(ctx.admin, ctx.b.readerName), [], 'B reconnected before the revocation was written');
    await until(async () => (await ctx.b.read(t.accessToken)) === 'ERR_SESSION_REVOKED', 'B to catch up');
    assert.is(await ctx.b.read(t2.accessToken), 'ERR_SESSION_REVOKED');
    const after = await readerIds(ctx.admin, ctx.b.readerName);
    assert.is(after.length, 1);
    assert.is.not(after[0], before[0]);
  });

  S('a node started after a revocation enforces it from its first read() after ready()', async (ctx) => {
    const t = await ctx.a.create('erin');
    const u = await ctx.a.create('frank');
    await ctx.a.deleteOne('erin', t.sessionId);
    await ctx.a.deleteAll('frank');
    const c = closeLater(new RemoteNode(ctx.server.port, ctx.prefix, io.major));
    await c.started;
    await c.request('ready');
    assert.is(await c.read(t.accessToken), 'ERR_SESSION_REVOKED');
    assert.is(await c.read(u.accessToken), 'ERR_SESSION_REVOKED');
    const fresh = await ctx.a.create('erin');
    assert.is(await c.read(fresh.accessToken), 'ok');
    await c.close();
  });

  S('a node never applies its own events, and applies each other node’s exactly once', async (ctx) => {
    const created = (await ctx.b.request('create', { subject: 'gina' })).value as SessionTokens;
    ctx.aRemote.length = 0;
    const remoteBefore = ((await ctx.b.request('remote')).value as string[]).length;
    assert.is((await ctx.b.request('deleteOne', { subject: 'gina', sessionId: created.sessionId })).value, true);
    assert.is((await ctx.b.request('deleteAll', { subject: 'gina' })).value, 0);
    const mine = await ctx.a.create('hank');
    await ctx.a.deleteOne('hank', mine.sessionId);
    await until(async () => ctx.aRemote.length === 2, 'A to receive B’s two events');
    await until(async () => ((await ctx.b.request('remote')).value as string[]).length === remoteBefore + 1, 'B to receive A’s event');
    await sleep(100);
    assert.equal(ctx.aRemote, [`session:${created.sessionId}`, 'subject:gina']);
    const remote = ((await ctx.b.request('remote')).value as string[]).slice(remoteBefore);
    assert.equal(remote, [`session:${mine.sessionId}`], 'B applied its own events or A’s twice');
    assert.is(await ctx.b.read(created.accessToken), 'ERR_SESSION_REVOKED');
  });

  S('malformed entries in the stream are ignored and the node keeps working', async (ctx) => {
    for (const fields of [['junk', 'x'], ['o', 'x', 'e', '{'], ['o', 'x', 'e', '{"type":"session"}'], ['o', 'x', 'e', '[1,2]']]) {
      await ctx.admin.xadd(ctx.stream, '*', ...fields);
    }
    const t = await ctx.a.create('ivan');
    await ctx.a.deleteOne('ivan', t.sessionId);
    await until(async () => (await ctx.b.read(t.accessToken)) === 'ERR_SESSION_REVOKED', 'B to process the valid entry behind the junk');
    const late = closeLater(new RemoteNode(ctx.server.port, ctx.prefix, io.major));
    await late.started;
    await late.request('ready');
    assert.is(await late.read(t.accessToken), 'ERR_SESSION_REVOKED');
  });

  S.run();
}

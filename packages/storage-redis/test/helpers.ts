import { startCluster, startRedis, type RedisCluster, type RedisServer } from '@jwt-session/redis-harness';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { JwtUserSessionManager, subjectDigest, type JwtUserSessionManagerOptions } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache } from '@jwt-session/storage-memory';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import * as ioredis6 from 'ioredis6';
import * as assert from 'uvu/assert';
import { TEST_KEY } from './fixtures/key.js';
import { FORMAT } from '../src/scripts.js';

/**
 * One client library setup the Redis suites run against, as
 * socket.io-redis-adapter's test runner runs its suite once per client. Both
 * ioredis majors the package supports (6 as the aliased dev dependency
 * `ioredis6`), in one process, so one coverage report counts every branch
 * either of them takes. `IOREDIS=5` or `IOREDIS=6` keeps one (for a quick
 * local run).
 */
export interface Ioredis {
  /** 'ioredis 5' or 'ioredis 6', for suite names. */
  readonly name: string;
  readonly major: 5 | 6;
  readonly Redis: typeof Redis;
  readonly Cluster: typeof Cluster;
}

const ALL: readonly Ioredis[] = [
  { name: 'ioredis 5', major: 5, Redis, Cluster },
  // Typed as 5's classes so one test body serves both: the commands the tests call have the same
  // signatures in 6. The library itself accepts either major's classes as they are (types.test.ts).
  { name: 'ioredis 6', major: 6, Redis: ioredis6.Redis as unknown as typeof Redis, Cluster: ioredis6.Cluster as unknown as typeof Cluster },
];

export const ioredisMajors: readonly Ioredis[] = ALL.filter((io) => process.env.IOREDIS === undefined || String(io.major) === process.env.IOREDIS);

/** The setup whose major is `major` (for a forked process told which one to use). */
export function ioredisOf(major: string | undefined): Ioredis {
  return ALL.find((io) => String(io.major) === major) ?? ALL[0]!;
}

/*
 * Shared fixtures: one standalone server and one 3-master cluster per test
 * process, started on first use (so a file that needs neither starts neither)
 * and stopped by `teardown()`, which every test file queues as its last suite.
 * The harness' exit hook kills them anyway if a run crashes.
 */
let standalone: Promise<RedisServer> | undefined;
let cluster: Promise<RedisCluster> | undefined;
const clients = new Set<Redis | Cluster>();
const closers: (() => Promise<void>)[] = [];

/** Runs `close` at teardown, so a failed assertion cannot leave a connection keeping the process alive. */
export function closeLater<T extends { close(): Promise<void> }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

export function redisServer(): Promise<RedisServer> {
  return (standalone ??= startRedis());
}

export function redisCluster(): Promise<RedisCluster> {
  return (cluster ??= startCluster({ masters: 3 }));
}

/** A client on the shared standalone server; closed by teardown(). */
export async function standaloneClient(io: Ioredis, options: RedisOptions = {}): Promise<Redis> {
  const server = await redisServer();
  const client = new io.Redis({ host: server.host, port: server.port, ...options });
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

/** A client on the shared cluster; closed by teardown(). */
export async function clusterClient(io: Ioredis): Promise<Cluster> {
  const c = await redisCluster();
  const client = new io.Cluster(c.startupNodes);
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

export function track<T extends Redis | Cluster>(client: T): T {
  clients.add(client);
  // Fault tests kill servers under these clients; their reconnect errors are expected.
  if (client.listenerCount('error') === 0) client.on('error', () => undefined);
  return client;
}

/** A fresh key prefix, so tests sharing a server never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(6).toString('hex')}:`;
}

/** Every master of the client (one for standalone). */
export function mastersOf(client: Redis | Cluster): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

/** Every key under `prefix`, on every master. SCAN skips (and reaps) logically expired keys. */
export async function keysUnder(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return out;
}

/** The node of the cluster (or the server) that owns `key`. */
export function nodeFor(client: Redis | Cluster, key: string): Redis {
  if (!client.isCluster) return client as Redis;
  const slot = clusterSlot(key);
  const slots = (client as unknown as { slots: string[][] }).slots[slot]!;
  const owner = (client as Cluster).nodes('master').find((n) => `${n.options.host}:${n.options.port}` === slots[0]);
  if (owner === undefined) throw new Error(`no master for slot ${slot}`);
  return owner;
}

// CRC16/XMODEM as Redis Cluster uses it.
function crc16(buf: Buffer): number {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16384;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Closes every client and stops the servers. */
export async function teardown(): Promise<void> {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const client of clients) client.disconnect();
  clients.clear();
  const s = standalone;
  const c = cluster;
  standalone = undefined;
  cluster = undefined;
  await Promise.all([s?.then((x) => x.stop(), () => undefined), c?.then((x) => x.stop(), () => undefined)]);
}

/** Whether a connection to 127.0.0.1:port is refused (nothing listens there any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * Runs teardown() and asserts that it released everything: no client or
 * closer left, and every Redis server this process started (shared standalone,
 * each cluster node) has exited and its port refuses connections. Every test
 * file's last suite calls it, so a leak fails the run instead of hanging it.
 */
export async function assertTornDown(): Promise<void> {
  const servers: RedisServer[] = [];
  const s = await standalone?.catch(() => undefined);
  const c = await cluster?.catch(() => undefined);
  if (s !== undefined) servers.push(s);
  if (c !== undefined) servers.push(...c.nodes);
  const live = servers.map((server) => ({ port: server.port, pid: server.pid }));
  await teardown();
  assert.is(closers.length, 0, 'closers left after teardown');
  assert.is(clients.size, 0, 'clients left after teardown');
  assert.is(standalone, undefined);
  assert.is(cluster, undefined);
  for (const { port, pid } of live) {
    if (pid !== undefined) assert.throws(() => process.kill(pid, 0), (error: NodeJS.ErrnoException) => error.code === 'ESRCH', `redis-server ${pid} still runs`);
    assert.ok(await refused(port), `port ${port} still accepts connections`);
  }
}

export interface StoredKey {
  key: string;
  type: string;
  /** PTTL: -1 = no expiry. */
  ttl: number;
  /** Every string the key holds: fields and values, members and scores, stream ids and fields; for a subject's key, its raw bytes and each decoded value (numbers as text). */
  values: string[];
  /** A subject's key: its session records, decoded (MessagePack `[FORMAT, bound, records]`; see scripts.ts). */
  records?: unknown[][];
  /** A subject's key: the lower bound of its records' deadlines, in whole seconds. */
  bound?: number;
}

const UNPACK = "return cmsgpack.unpack(redis.call('GET', KEYS[1]))";
const flat = (value: unknown): string[] => (Array.isArray(value) ? value.flatMap(flat) : [String(value)]);

/** Every key under `prefix` with everything it holds, read with the command its TYPE calls for, on the node that owns it. */
export async function snapshot(client: Redis | Cluster, prefix: string): Promise<StoredKey[]> {
  const out: StoredKey[] = [];
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await node.type(key);
        let values: string[];
        switch (type) {
          case 'hash':
            values = Object.entries(await node.hgetall(key)).flat();
            break;
          case 'zset':
            values = await node.zrange(key, 0, -1, 'WITHSCORES');
            break;
          case 'string': {
            // latin1 keeps every byte as one character, so ASCII inside binary values stays searchable.
            values = [((await node.getBuffer(key)) ?? Buffer.alloc(0)).toString('latin1')];
            if (/\}:s:/.test(key)) {
              const [format, bound, records] = (await node.eval(UNPACK, 1, key)) as [number, number, unknown[][]];
              assert.is(format, FORMAT, `${key}: value format`);
              assert.ok(Number.isSafeInteger(bound) && bound >= 0, `${key}: the deadline bound is whole seconds`);
              out.push({ key, type, ttl: await node.pttl(key), values: [...values, ...flat(records)], records, bound });
              continue;
            }
            break;
          }
          case 'set':
            values = await node.smembers(key);
            break;
          case 'list':
            values = await node.lrange(key, 0, -1);
            break;
          case 'stream':
            values = (await node.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
            break;
          case 'none':
            continue; // expired between SCAN and TYPE
          default:
            throw new Error(`unexpected type ${type} for ${key}`);
        }
        out.push({ key, type, ttl: await node.pttl(key), values });
      }
    } while (cursor !== '0');
  }
  return out;
}

/**
 * Checks the layout's invariants over a snapshot: every session sits under
 * the key of its subject's digest and starts with that digest, no session
 * id appears twice, no subject's key is empty, each key lives at least
 * as long as its latest session, and its bound is at or before its earliest. Returns the sessions found (id → subject) and the problems (empty when consistent).
 */
export function layoutProblems(keys: StoredKey[], now = Date.now()): { sessions: number; ids: Map<string, string>; problems: string[] } {
  const ids = new Map<string, string>();
  const problems: string[] = [];
  for (const k of keys) {
    if (k.records === undefined) continue;
    const digest = /\{(.{4})\}:s:(.{7})$/.exec(k.key);
    if (digest === null) {
      problems.push(`${k.key} is not a subject's key`);
      continue;
    }
    if (k.records.length === 0) problems.push(`${k.key} holds no session`);
    let latest = 0;
    let earliest = Infinity;
    for (const rec of k.records) {
      const [id, subject, , , , , , , expires, idle] = rec as [string, string, ...unknown[]];
      if (ids.has(id)) problems.push(`${id} stored twice`);
      ids.set(id, subject);
      if (!id.startsWith(digest[1]! + digest[2]!)) problems.push(`${id} is under another digest's key ${k.key}`);
      if (subjectDigest(subject) !== digest[1]! + digest[2]!) problems.push(`${subject}'s session ${id} is under ${k.key}`);
      const deadline = idle === '' ? Number(expires) : Math.min(Number(expires), Number(idle));
      latest = Math.max(latest, deadline);
      earliest = Math.min(earliest, deadline);
    }
    if (k.bound === undefined || k.bound * 1000 > earliest) problems.push(`${k.key}: bound ${k.bound} s is after its earliest deadline ${earliest}`);
    // PTTL was read a little after `now` was taken by the caller... or before: allow a second either way.
    if (k.ttl < latest - now - 1000) problems.push(`${k.key} expires ${latest - now - k.ttl} ms before its latest session`);
  }
  return { sessions: ids.size, ids, problems };
}

/** Session ids stored under `prefix`, on every master. */
export async function storedSessionIds(client: Redis | Cluster, prefix: string): Promise<Set<string>> {
  return new Set(layoutProblems(await snapshot(client, prefix)).ids.keys());
}

/** A manager over the given store (and broadcaster), with a memory invalidation cache; closed at teardown. */
export function makeManager(options: Partial<JwtUserSessionManagerOptions> & Pick<JwtUserSessionManagerOptions, 'refreshTokenStore'>): JwtUserSessionManager {
  const manager = new JwtUserSessionManager({
    keys: TEST_KEY,
    issuer: 'https://issuer.test',
    audience: 'api',
    invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
    ...options,
  });
  return closeLater(manager);
}

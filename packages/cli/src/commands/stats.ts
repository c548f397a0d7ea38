import { DEFAULT_KEY_PREFIX, RedisRefreshTokenStore, type KeyKind, type KeyLayout } from '@jwt-session/storage-redis';
import type { Redis } from 'ioredis';
import { REDIS_OPTIONS, parse, positionals } from '../args.js';
import { emit, type Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { bytes, duration, table } from '../output.js';
import { masters, type RedisClient } from '../redis.js';
import { withRedis } from '../with-redis.js';

const SCAN_COUNT = 1000;

export interface Stats {
  prefix: string;
  masters: number;
  /** Session records (each expires with its session, so these are the live ones). */
  sessions: number;
  /** Subjects with at least one session (one index key each). */
  subjects: number;
  /** Insert receipts kept for settleInsert after an eviction (they expire on their own). */
  receipts: number;
  /** Keys under the prefix that are not the library's. */
  otherKeys: number;
  stream: { key: string; length: number; oldestAgeMs: number | null; newestAgeMs: number | null; ttlMs: number | null };
  /** Bytes by MEMORY USAGE, per kind of key. */
  memory: Record<KeyKind | 'total', number>;
}

/** `*`, `?`, `[` and `\` are glob syntax for SCAN MATCH; a prefix holding them must match literally. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** SCAN (never KEYS: it would block the server for the whole keyspace) over one master, MEMORY USAGE per batch in one pipeline. */
async function scanMaster(node: Redis, layout: KeyLayout, into: Stats): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${globEscape(layout.prefix)}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.call('MEMORY', 'USAGE', key);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, n) => {
      const kind = layout.kindOf(key);
      const [error, used] = replies[n] ?? [null, null];
      // Null: the key expired between SCAN and MEMORY USAGE.
      if (error || used === null) return;
      if (kind === undefined) {
        into.otherKeys++;
        return;
      }
      if (kind === 'session') into.sessions++;
      else if (kind === 'index') into.subjects++;
      else if (kind === 'receipt') into.receipts++;
      into.memory[kind] += Number(used);
      into.memory.total += Number(used);
    });
  } while (cursor !== '0');
}

export async function collectStats(client: RedisClient, prefix: string, now: number): Promise<Stats> {
  let layout: KeyLayout;
  try {
    layout = new RedisRefreshTokenStore(client, { keyPrefix: prefix }).keys;
  } catch {
    throw usage('--prefix must not contain { or }');
  }
  const nodes = masters(client);
  const stats: Stats = {
    prefix,
    masters: nodes.length,
    sessions: 0,
    subjects: 0,
    receipts: 0,
    otherKeys: 0,
    stream: { key: layout.stream, length: 0, oldestAgeMs: null, newestAgeMs: null, ttlMs: null },
    memory: { session: 0, index: 0, stream: 0, receipt: 0, total: 0 },
  };
  try {
    for (const node of nodes) await scanMaster(node, layout, stats);
    const [length, [oldest], [newest], ttl] = await Promise.all([
      client.xlen(layout.stream),
      client.xrange(layout.stream, '-', '+', 'COUNT', 1),
      client.xrevrange(layout.stream, '+', '-', 'COUNT', 1),
      client.pttl(layout.stream),
    ]);
    const age = (entry: [string, string[]] | undefined) => (entry === undefined ? null : Math.max(0, now - Number(entry[0].split('-')[0])));
    stats.stream = { key: layout.stream, length, oldestAgeMs: age(oldest), newestAgeMs: age(newest), ttlMs: ttl >= 0 ? ttl : null };
  } catch (cause) {
    throw new CliError('ERR_REDIS_UNAVAILABLE', 'stats: Redis did not answer', { cause });
  }
  return stats;
}

async function statsCommandImpl(args: string[], ctx: Context): Promise<number> {
  const { values, positionals: rest } = parse(args, REDIS_OPTIONS);
  positionals(rest, [], 'stats');
  const prefix = values.prefix ?? DEFAULT_KEY_PREFIX;
  const stats = await withRedis(values, 'stats', (client) => collectStats(client, prefix, ctx.now()));
  emit(ctx, values.json, stats, () => {
    const s = stats.stream;
    const ago = (ms: number | null) => (ms === null ? '-' : `${duration(ms)} ago`);
    return table([
      ['METRIC', 'VALUE'],
      ['prefix', stats.prefix],
      ['masters scanned', String(stats.masters)],
      ['sessions', String(stats.sessions)],
      ['subjects', String(stats.subjects)],
      ['insert receipts', String(stats.receipts)],
      ['stream', s.key],
      ['stream entries', String(s.length)],
      ['oldest entry', ago(s.oldestAgeMs)],
      ['newest entry', ago(s.newestAgeMs)],
      ['stream expires in', s.ttlMs === null ? '-' : duration(s.ttlMs)],
      ['memory: sessions', bytes(stats.memory.session)],
      ['memory: subject indexes', bytes(stats.memory.index)],
      ['memory: stream', bytes(stats.memory.stream)],
      ['memory: insert receipts', bytes(stats.memory.receipt)],
      ['memory: total', bytes(stats.memory.total)],
      ['other keys under prefix', String(stats.otherKeys)],
    ]);
  });
  return 0;
}

export { statsCommandImpl as statsCommand };

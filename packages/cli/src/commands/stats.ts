import { DEFAULT_KEY_PREFIX, RedisRefreshTokenStore, SESSIONS_SUMMARY_SCRIPT, type KeyKind, type KeyLayout } from '@jwt-session/storage-redis';
import type { Redis } from 'ioredis';
import { parse, positionals } from '../args.js';
import { emit, type Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { bytes, duration, table } from '../output.js';
import { masters, type RedisClient } from '../redis.js';
import { STORAGE_OPTIONS, storageOf } from '../storage.js';
import { requireRedis, withRedis } from '../with-redis.js';
import { postgresStats } from './stats-postgres.js';

const SCAN_COUNT = 1000;

export interface Stats {
  prefix: string;
  masters: number;
  /** Session records (a subject's key drops its dead ones whenever it is written, and expires with its last). */
  sessions: number;
  /** Subjects with at least one session. */
  subjects: number;
  /** Insert receipts kept for settleInsert after an eviction (they expire on their own). */
  receipts: number;
  /** DPoP proofs the replay cache remembers (each expires on its own). */
  dpopProofs: number;
  /** Subjects with a device history (`deviceHistory`; each expires on its own). */
  deviceHistories: number;
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

/**
 * SCAN (never KEYS: it would block the server for the whole keyspace) over one
 * master; per batch one pipeline of MEMORY USAGE per key and, for each
 * subject's key, the store's summary script (sessions and subjects under it,
 * counted in Redis so the CLI never decodes a record).
 */
async function scanMaster(node: Redis, layout: KeyLayout, into: Stats): Promise<void> {
  const sha = (await node.script('LOAD', SESSIONS_SUMMARY_SCRIPT)) as string;
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${globEscape(layout.prefix)}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    const kinds = keys.map((key) => layout.kindOf(key));
    keys.forEach((key, n) => {
      pipeline.call('MEMORY', 'USAGE', key);
      if (kinds[n] === 'sessions') pipeline.evalsha(sha, 1, key);
    });
    const replies = (await pipeline.exec()) ?? [];
    let at = 0;
    keys.forEach((key, n) => {
      const kind = kinds[n];
      const [error, used] = replies[at++] ?? [null, null];
      const [summaryError, summary] = kind === 'sessions' ? (replies[at++] ?? [null, null]) : [null, null];
      // Null: the key expired between SCAN and MEMORY USAGE.
      if (error || used === null) return;
      if (kind === undefined) {
        into.otherKeys++;
        return;
      }
      if (kind === 'sessions') {
        // A key that expired or was rewritten between the two commands reads as empty.
        const [sessions, subjects] = !summaryError && Array.isArray(summary) ? (summary as number[]) : [0, 0];
        into.sessions += Number(sessions);
        into.subjects += Number(subjects);
      } else if (kind === 'receipt') into.receipts++;
      else if (kind === 'dpop') into.dpopProofs++;
      else if (kind === 'devices') into.deviceHistories++;
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
    dpopProofs: 0,
    deviceHistories: 0,
    otherKeys: 0,
    stream: { key: layout.stream, length: 0, oldestAgeMs: null, newestAgeMs: null, ttlMs: null },
    memory: { sessions: 0, stream: 0, receipt: 0, dpop: 0, devices: 0, upstream: 0, 'upstream-index': 0, total: 0 },
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
  const { values, positionals: rest } = parse(args, STORAGE_OPTIONS);
  positionals(rest, [], 'stats');
  if (storageOf(values, 'stats').name === 'PostgreSQL') return postgresStats(values, ctx);
  const prefix = values.prefix ?? DEFAULT_KEY_PREFIX;
  const stats = await withRedis(requireRedis(values, ctx.env, 'stats'), (client) => collectStats(client, prefix, ctx.now()));
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
      ['DPoP proofs remembered', String(stats.dpopProofs)],
      ['device histories', String(stats.deviceHistories)],
      ['stream', s.key],
      ['stream entries', String(s.length)],
      ['oldest entry', ago(s.oldestAgeMs)],
      ['newest entry', ago(s.newestAgeMs)],
      ['stream expires in', s.ttlMs === null ? '-' : duration(s.ttlMs)],
      ['memory: sessions', bytes(stats.memory.sessions)],
      ['memory: stream', bytes(stats.memory.stream)],
      ['memory: insert receipts', bytes(stats.memory.receipt)],
      ['memory: DPoP proofs', bytes(stats.memory.dpop)],
      ['memory: device histories', bytes(stats.memory.devices)],
      ['memory: upstream links', bytes(stats.memory.upstream + stats.memory['upstream-index'])],
      ['memory: total', bytes(stats.memory.total)],
      ['other keys under prefix', String(stats.otherKeys)],
    ]);
  });
  return 0;
}

export { statsCommandImpl as statsCommand };

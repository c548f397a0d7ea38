import { schemaStats, type SchemaStats } from '@jwt-session/storage-postgres';
import { emit, type Context } from '../context.js';
import { bytes, duration, table } from '../output.js';
import type { PostgresFlags } from '../postgres.js';
import { unavailable, withPostgres } from '../with-postgres.js';

/** `stats --postgres`: what the schema holds, from storage-postgres' schemaStats (on the database's clock). */
export async function postgresStats(flags: PostgresFlags & { json?: boolean | undefined }, ctx: Context): Promise<number> {
  const stats: SchemaStats = await withPostgres(flags, 'stats', async ({ pool, schema, target }) => {
    try {
      return await schemaStats(pool, { schema });
    } catch (cause) {
      throw unavailable('stats', cause, target);
    }
  });
  emit(ctx, flags.json, stats, () => {
    const r = stats.revocations;
    const ago = (ms: number | null) => (ms === null ? '-' : `${duration(ms)} ago`);
    return table([
      ['METRIC', 'VALUE'],
      ['schema', `${stats.schema} (version ${stats.version})`],
      ['sessions', String(stats.sessions.live)],
      ['sessions past their deadline, not swept yet', String(stats.sessions.dead)],
      ['subjects', String(stats.subjects)],
      ['insert receipts', String(stats.receipts)],
      ['channel', r.channel],
      ['revocations kept', String(r.rows)],
      ['oldest revocation', ago(r.oldestAgeMs)],
      ['newest revocation', ago(r.newestAgeMs)],
      ['disk: sessions', bytes(stats.bytes.sessions)],
      ['disk: insert receipts', bytes(stats.bytes.receipts)],
      ['disk: revocations', bytes(stats.bytes.revocations)],
      ['disk: total', bytes(stats.bytes.total)],
    ]);
  });
  return 0;
}

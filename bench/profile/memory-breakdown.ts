/**
 * Where the memory store's bytes per session go (case 8a): heapUsed deltas
 * (after full GCs) of 100k sessions' parts built on their own — the record as
 * the store keeps it (a structuredClone, so every string is a fresh copy),
 * a Map that holds them (the store's TTLCache is a Map plus expiry
 * bookkeeping), and the per-subject index (Map<subject, Set<sessionId>>).
 * Compare the sum with case 8a's total. Run:
 *   node --expose-gc --import tsx bench/profile/memory-breakdown.ts
 */
import { randomBytes, createHash } from 'node:crypto';

const N = 100_000;
const gc = (globalThis as { gc?: () => void }).gc!;
const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
const now = Date.now();
const make = (i: number) => ({
  sessionId: randomBytes(19).toString('base64url').slice(0, 26),
  subject: `user-${i}`,
  tokenHash: createHash('sha256').update(String(i)).digest('base64url'),
  createdAt: now, expiresAt: now + 30 * 86_400_000, idleExpiresAt: undefined, claims: {}, context: {},
  previousTokenHash: undefined, generation: 0, lastRefreshedAt: now, rotatedAt: now,
});
const measure = (label: string, build: () => unknown) => {
  const h0 = heap();
  const kept = build();
  const bytes = (heap() - h0) / N;
  console.log(`${label.padEnd(58)} ${bytes.toFixed(0).padStart(5)} B/session`);
  return kept;
};
const records = measure('records (plain objects, their strings, {} claims/context)', () => Array.from({ length: N }, (_, i) => make(i))) as ReturnType<typeof make>[];
measure('  + a structuredClone of each (what insert() stores)', () => records.map((r) => structuredClone(r)));
measure('Map<sessionId, record> (entries only)', () => new Map(records.map((r) => [r.sessionId, r])));
measure('index Map<subject, Set<sessionId>>, 1 session per subject', () => {
  const m = new Map<string, Set<string>>();
  for (const r of records) m.set(r.subject, new Set([r.sessionId]));
  return m;
});

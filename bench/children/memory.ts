/**
 * Case 8 (memory store half), in a fresh process: heap taken by
 * MemoryRefreshTokenStore per session, measured as the heapUsed delta (after
 * full GCs) across N create() calls. The returned tokens are dropped.
 * argv: JSON { sessions: number }
 */
import { MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { childMain, heapUsed, send } from '../lib/child-side.js';

const { sessions } = JSON.parse(process.argv[2]!) as { sessions: number };

childMain(async () => {
  const store = new MemoryRefreshTokenStore();
  const manager = memoryManager(keySet('HS256'), { refreshTokenStore: store });
  await manager.ready();
  // Warm up code paths and lazily created structures, then remove those sessions.
  for (let i = 0; i < 100; i++) await manager.create(`warm-${i}`);
  for (let i = 0; i < 100; i++) await manager.deleteAll(`warm-${i}`);
  const before = heapUsed();
  for (let i = 0; i < sessions; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, sessions - i) }, (_, k) => manager.create(`user-${i + k}`)));
  }
  const after = heapUsed();
  if (store.size < sessions) throw new Error(`store holds ${store.size} sessions, expected ${sessions}`);
  await send({ type: 'result', bytesPerSession: (after - before) / sessions, totalMiB: (after - before) / 2 ** 20, sessions });
  await manager.close();
}, true);

import { hostileValues, newRecord, probe, T0 } from '@jwt-session/session-core/testing';
import { fuzzer } from '@jwt-session/fuzz-kit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBroadcaster, MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '../src/index.js';

/*
 * Guards defect #10.11: the stores' and the cache's methods with wrong types
 * ended in raw TypeErrors, and an insert with a 10 MB string held the event
 * loop for 19–30 s. Every public method, fed anything (alone or as one field
 * of an otherwise valid argument), answers with success or a coded error,
 * uses no more than 50 ms of CPU, and a valid session still works afterwards.
 */
const S = suite('fuzz: every public method of storage-memory');


const RECORD_FIELDS = ['sessionId', 'subject', 'tokenHash', 'createdAt', 'expiresAt', 'idleExpiresAt', 'claims', 'context'] as const;
const ROTATE_FIELDS = ['sessionId', 'presentedHash', 'successorHash', 'now', 'reuseInterval', 'idleTtl', 'claims', 'context'] as const;

const fuzz = fuzzer({ hostileValues, probe }, 100);

S('MemoryRefreshTokenStore: every method with anything, and records with one hostile field', async () => {
  const store = new MemoryRefreshTokenStore({ maxSessions: 10_000 });
  const live = newRecord('alice', { createdAt: Date.now(), expiresAt: Date.now() + 3_600_000 });
  await store.insert(live, { now: Date.now() });
  await fuzz('insert', (a, b) => store.insert(a as never, b as never));
  for (const name of RECORD_FIELDS) await fuzz(`insert (${name})`, (value) => store.insert({ ...newRecord('bob'), [name]: value } as never, { now: T0, maxSessionsPerSubject: 3 }), 40);
  await fuzz('settleInsert', (a, b, c) => store.settleInsert(a as never, b as never, c as never));
  await fuzz('rotate', (a) => store.rotate(a as never));
  for (const name of ROTATE_FIELDS) {
    await fuzz(`rotate (${name})`, (value) => store.rotate({ sessionId: live.sessionId, presentedHash: 'x', successorHash: 'y', now: Date.now(), reuseInterval: 0, [name]: value } as never), 40);
  }
  await fuzz('list', (a, b) => store.list(a as never, b as never));
  await fuzz('delete', (a, b, c) => store.delete(a as never, b as never, c as never));
  await fuzz('deleteAll', (a, b) => store.deleteAll(a as never, b as never));
  // The session inserted first is still there and intact.
  assert.equal((await store.list('alice', Date.now())).map((s) => s.sessionId), [live.sessionId]);
  await store.close();
});

S('MemoryInvalidAccessTokenCache and MemoryBroadcaster: every method with anything', async () => {
  const cache = new MemoryInvalidAccessTokenCache();
  cache.invalidateSession('kept', 60_000);
  await fuzz('invalidateSession', (a, b) => cache.invalidateSession(a as never, b as never));
  await fuzz('invalidateSubject', (a, b, c) => cache.invalidateSubject(a as never, b as never, c as never));
  await fuzz('isSessionInvalidated', (a) => cache.isSessionInvalidated(a as never));
  await fuzz('subjectInvalidatedAt', (a) => cache.subjectInvalidatedAt(a as never));
  assert.ok(cache.isSessionInvalidated('kept'));
  cache.close();

  const hub = new MemoryBroadcaster();
  const received: unknown[] = [];
  const sender = hub.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  const sub = hub.subscribe({ restrictOne: (e) => received.push(e), restrictAll: (e) => received.push(e) });
  await fuzz('subscribe', (a) => hub.subscribe(a as never).close());
  await fuzz('publish', (a) => sender.publish(a as never));
  const now = Date.now();
  await sender.publish({ type: 'session', subject: 'alice', sessionId: 'AAAAsessionidsessionidsess', reason: 'deleted', at: now, expiresAt: now + 1000 });
  assert.is((received.at(-1) as { sessionId?: string }).sessionId, 'AAAAsessionidsessionidsess');
  await sender.close();
  await sub.close();
});

S.run();

import { hostileValues, newRecord, probe, T0 } from '@jwt-session/session-core/testing';
import { fuzzer } from '@jwt-session/fuzz-kit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisInvalidationBroadcaster, RedisRefreshTokenStore } from '../src/index.js';
import { ioredisMajors, standaloneClient, teardown, uniquePrefix } from './helpers.js';

/*
 * Guards defect #10.11 on Redis: every public method of the store and the
 * broadcaster, fed anything (alone or as one field of an otherwise valid
 * argument), answers with success or a coded error, uses no more than 50 ms of
 * CPU, never sends Redis a 10 MB value, and a valid session still works
 * afterwards.
 */
const S = suite('fuzz: every public method of storage-redis');


const fuzz = fuzzer({ hostileValues, probe }, 60);

S('RedisRefreshTokenStore: every method with anything, and records with one hostile field', async () => {
  const client = await standaloneClient(ioredisMajors[0]!);
  const store = new RedisRefreshTokenStore(client, { keyPrefix: uniquePrefix('fuzz') });
  const now = Date.now();
  const live = newRecord('alice', { createdAt: now, expiresAt: now + 3_600_000 });
  await store.insert(live, { now });
  await fuzz('insert', (a, b) => store.insert(a as never, b as never));
  for (const name of ['sessionId', 'subject', 'tokenHash', 'createdAt', 'expiresAt', 'idleExpiresAt', 'claims', 'context'] as const) {
    await fuzz(`insert (${name})`, (value) => store.insert({ ...newRecord('bob'), [name]: value } as never, { now: T0, maxSessionsPerSubject: 3 }), 30);
  }
  await fuzz('settleInsert', (a, b, c) => store.settleInsert(a as never, b as never, c as never));
  await fuzz('rotate', (a) => store.rotate(a as never));
  for (const name of ['sessionId', 'presentedHash', 'successorHash', 'now', 'reuseInterval', 'idleTtl', 'claims', 'context'] as const) {
    await fuzz(`rotate (${name})`, (value) => store.rotate({ sessionId: live.sessionId, presentedHash: 'x', successorHash: 'y', now: Date.now(), reuseInterval: 0, [name]: value } as never), 30);
  }
  await fuzz('list', (a, b) => store.list(a as never, b as never));
  await fuzz('delete', (a, b, c) => store.delete(a as never, b as never, c as never));
  await fuzz('deleteAll', (a, b) => store.deleteAll(a as never, b as never));
  assert.equal((await store.list('alice', Date.now())).map((s) => s.sessionId), [live.sessionId], 'the valid session was harmed');
});

S('RedisInvalidationBroadcaster: subscribe and publish with anything', async () => {
  const client = await standaloneClient(ioredisMajors[0]!);
  const broadcaster = new RedisInvalidationBroadcaster(client, { keyPrefix: uniquePrefix('fuzz') });
  const received: unknown[] = [];
  const sender = broadcaster.subscribe({ restrictOne: () => undefined, restrictAll: () => undefined });
  const sub = broadcaster.subscribe({ restrictOne: (e) => received.push(e), restrictAll: (e) => received.push(e) });
  await Promise.all([sender.ready(), sub.ready()]);
  await fuzz('publish', (a) => sender.publish(a as never));
  await fuzz('subscribe', (a) => broadcaster.subscribe(a as never).close(), 20);
  const now = Date.now();
  await sender.publish({ type: 'session', subject: 'alice', sessionId: 'AAAAsessionidsessionidsess', reason: 'deleted', at: now, expiresAt: now + 60_000 });
  const deadline = Date.now() + 5000;
  while (!received.some((e) => (e as { sessionId?: string }).sessionId === 'AAAAsessionidsessionidsess') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(received.some((e) => (e as { sessionId?: string }).sessionId === 'AAAAsessionidsessionidsess'), 'a valid event no longer arrives');
  await broadcaster.close();
});

S.after(teardown);
S.run();

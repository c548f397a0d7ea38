import { T0, fakeHash, newRecord } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, pgServer, teardown } from './helpers.js';

/*
 * Issue 26 §1 on PostgreSQL: a session's upstream link (session_upstreams,
 * migration 3) leaves with the session by every path (the foreign key
 * cascades), so the table never holds more rows than linked sessions; the
 * lookups go through its indexes.
 */

const S = suite('postgres upstream links');
const IDP = 'https://idp.example.com';

async function links(pool: { query(text: string): Promise<{ rows: { n: number }[] }> }, schema: string): Promise<number> {
  return (await pool.query(`SELECT count(*)::integer AS n FROM "${schema}".session_upstreams`)).rows[0]!.n;
}

S('a link leaves with its session: delete, deleteAll, reuse, eviction, expiry on list and the sweep', async () => {
  const { pool, store, schema } = await makeStore();
  const up = (sid: string) => ({ upstream: { issuer: IDP, subject: 'u-1', sessionId: sid } });
  const a = newRecord('alice', up('a'));
  const b = newRecord('alice', up('b'));
  const c = newRecord('bob', up('c'));
  const d = newRecord('carol', { ...up('d'), expiresAt: T0 + 10 });
  const e = newRecord('dave', up('e'));
  for (const r of [a, b, c, d, e]) await store.insert(r, { now: T0 });
  assert.is(await links(pool, schema), 5);
  await store.delete('alice', a.sessionId, T0);
  assert.is(await links(pool, schema), 4, 'delete');
  await store.deleteAll('alice', T0);
  assert.is(await links(pool, schema), 3, 'deleteAll');
  const next = fakeHash();
  await store.rotate({ sessionId: c.sessionId, presentedHash: c.tokenHash, successorHash: next, now: T0 + 1, reuseInterval: 0 });
  await store.rotate({ sessionId: c.sessionId, presentedHash: c.tokenHash, successorHash: fakeHash(), now: T0 + 2, reuseInterval: 0 });
  assert.is(await links(pool, schema), 2, 'reuse');
  await store.list('carol', T0 + 20);
  assert.is(await links(pool, schema), 1, 'expired on list');
  await store.insert(newRecord('dave', { createdAt: T0 + 1 }), { now: T0 + 1, maxSessionsPerSubject: 1 });
  assert.is(await links(pool, schema), 0, 'eviction');
});

S('a settled insert (it never ran) leaves no link; the lookup uses the indexes', async () => {
  const { pool, store, schema } = await makeStore();
  const r = newRecord('alice', { upstream: { issuer: IDP, subject: 'u-1', sessionId: 's' } });
  assert.equal(await store.settleInsert('alice', r.sessionId, { now: T0 }), []);
  assert.equal(await store.insert(r, { now: T0 }), { evicted: [] });
  assert.is(await links(pool, schema), 0);
  assert.equal(await store.findUpstream({ issuer: IDP, sessionId: 's' }, T0), []);
  // One connection: the setting is per session, and a pool hands out any of its connections.
  const db = await pool.connect();
  try {
    await db.query('SET enable_seqscan = off');
    const plan = async (column: string) => (await db.query(`EXPLAIN SELECT session_id FROM "${schema}".session_upstreams WHERE issuer = 'x' AND ${column} = 'y'`)).rows.map((row) => Object.values(row)[0]).join('\n');
    assert.match(await plan('upstream_sid'), /session_upstreams_sid_idx/);
    assert.match(await plan('upstream_subject'), /session_upstreams_subject_idx/);
  } finally {
    db.release();
  }
});

S.after(teardown);
S('the server this file started answers until teardown', async () => {
  assert.ok((await pgServer()).pid !== undefined);
});
S.run();

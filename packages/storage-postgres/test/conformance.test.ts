import { testInvalidationBroadcaster, testManagerOverStorage, testRefreshTokenStore, testUpstreamRevocation, testUpstreamStore } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freshSchema, makeBroadcaster, makePool, managerFixture, pgServer, storeFixture, teardown } from './helpers.js';

// session-core's conformance suites, unchanged, against a real PostgreSQL the
// file starts itself. Each fixture gets a schema of its own; the footprint is
// every session and receipt row in it, so "nothing left behind" is checked on
// the server itself.
testRefreshTokenStore('postgres', () => storeFixture());

testManagerOverStorage('postgres', () => managerFixture());

// The footprint counts sessions and receipts; a link row cannot outlive its session (ON DELETE CASCADE), see upstream.test.ts.
testUpstreamStore('postgres', () => storeFixture());
testUpstreamRevocation('postgres', () => managerFixture());

testInvalidationBroadcaster('postgres', async () => {
  const pool = await makePool();
  const broadcaster = await makeBroadcaster(await freshSchema(pool, 'bcast'));
  return { broadcaster, close: () => broadcaster.close() };
}, { revocationLog: true });

const end = suite('conformance teardown');
end.after(teardown);
end('the server this file started answers until teardown', async () => {
  const s = await pgServer();
  assert.ok(s.pid !== undefined);
});
end.run();

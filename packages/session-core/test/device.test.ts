import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_CREATED_ON_NEW_DEVICE, SessionError, type SessionEvents } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness, type Harness } from './helpers.js';
import { ReferenceRefreshTokenStore } from './reference-storage.js';

/*
 * Issue 22, "New devices": sessionCreatedOnNewDevice from create()'s
 * `device`, over a per-subject history of keyed hashes in the store.
 */
const S = suite('new-device event');
const open: Harness[] = [];
const track = (h: Harness) => (open.push(h), h);
S.after.each(async () => {
  for (const h of open.splice(0)) await h.close();
});

const LAPTOP = { summary: 'Firefox on macOS', network: '203.0.113.0/24' };
const PHONE = { summary: 'Safari on iOS', network: '198.51.100.0/24' };

function listen(h: Harness) {
  const seen: SessionEvents['sessionCreatedOnNewDevice'][] = [];
  h.manager.on(SESSION_CREATED_ON_NEW_DEVICE, (e) => seen.push(e));
  return seen;
}

S('the first sign-in is marked first; a new pair (summary or network) is new; a known one is silent', async () => {
  const h = track(harness({ deviceHistory: true }));
  const seen = listen(h);
  const a = await h.manager.create('alice', { device: LAPTOP });
  assert.equal(seen, [{ subject: 'alice', sessionId: a.sessionId, at: h.clock.now, device: LAPTOP, first: true, historyUnavailable: false }]);
  await h.manager.create('alice', { device: LAPTOP });
  assert.is(seen.length, 1, 'a known device announced again');
  const b = await h.manager.create('alice', { device: PHONE });
  assert.equal(seen[1], { subject: 'alice', sessionId: b.sessionId, at: h.clock.now, device: PHONE, first: false, historyUnavailable: false });
  await h.manager.create('alice', { device: { ...LAPTOP, network: '192.0.2.0/24' } });
  await h.manager.create('alice', { device: { ...LAPTOP, summary: 'Chrome on Windows' } });
  assert.equal(seen.slice(2).map((e) => e.first), [false, false]);
  // Another subject's history is its own.
  await h.manager.create('bob', { device: LAPTOP });
  assert.equal(seen.at(-1)?.subject, 'bob');
  assert.is(seen.at(-1)?.first, true);
  // No device, no history and no event.
  await h.manager.create('alice');
  assert.is(seen.length, 5);
});

S('the store holds keyed hashes only: no network, no summary, no subject-independent value', async () => {
  const h = track(harness({ deviceHistory: true }));
  await h.manager.create('alice', { device: LAPTOP });
  await h.manager.create('bob', { device: LAPTOP });
  const dump = h.store.deviceDump();
  for (const raw of ['203.0.113', 'Firefox', 'macOS']) assert.not.ok(dump.includes(raw), raw);
  const fingerprints = (text: string) => (JSON.parse(text) as [string, [string, number][]][]).map(([, history]) => history[0]![0]);
  const [alice, bob] = fingerprints(dump);
  assert.is.not(alice, bob, 'one device, two subjects: the same fingerprint links them');
  // Keyed: another manager secret gives another fingerprint for the same subject and device.
  const other = track(harness({ deviceHistory: true, refreshTokenSecret: 'another-refresh-token-secret-0123456789abcdef' }));
  await other.manager.create('alice', { device: LAPTOP });
  const [again] = fingerprints(other.store.deviceDump());
  assert.is.not(again, alice);
});

S('bounded (deviceHistory.max) and forgotten after deviceHistory.ttl', async () => {
  const h = track(harness({ deviceHistory: { max: 2, ttl: 3600 } }));
  const seen = listen(h);
  for (const n of [1, 2, 3]) await h.manager.create('alice', { device: { summary: `device ${n}`, network: 'AS64500' } });
  await h.manager.create('alice', { device: { summary: 'device 1', network: 'AS64500' } });
  assert.is(seen.length, 4, 'the least recently seen device was kept beyond max');
  h.clock.now += 3600_000;
  await h.manager.create('alice', { device: { summary: 'device 1', network: 'AS64500' } });
  assert.is(seen.at(-1)?.first, true, 'a device unseen for ttl was remembered');
});

/** A store whose device history is down (its sessions are fine). */
class HistoryDown extends ReferenceRefreshTokenStore {
  override async rememberDevice(): Promise<never> {
    throw new Error('history unavailable');
  }
}

S('a history the store cannot read counts as new (historyUnavailable); the session is created all the same', async () => {
  const h = track(harness({ deviceHistory: true, refreshTokenStore: new HistoryDown() }));
  const seen = listen(h);
  const a = await h.manager.create('alice', { device: LAPTOP });
  assert.equal(seen, [{ subject: 'alice', sessionId: a.sessionId, at: h.clock.now, device: LAPTOP, first: false, historyUnavailable: true }]);
  await h.manager.read(a.accessToken);
});

S('bad device input is ERR_CLAIMS_INVALID (reason device) before anything is stored', async () => {
  const h = track(harness({ deviceHistory: true }));
  for (const device of [null, 'laptop', {}, { summary: 'x' }, { summary: '', network: 'AS1' }, { summary: 'x', network: 7 }, { summary: 'x'.repeat(257), network: 'AS1' }]) {
    const error = await rejectsWith(h.manager.create('alice', { device: device as never }), 'ERR_CLAIMS_INVALID', JSON.stringify(device));
    assert.is(error.reason, 'device');
  }
  const throwing = Object.defineProperty({}, 'summary', { get: () => { throw new Error('boom'); } });
  assert.is((await rejectsWith(h.manager.create('alice', { device: throwing as never }), 'ERR_CLAIMS_INVALID')).reason, 'device');
  assert.equal(await h.manager.readAll('alice'), []);
});

S('deviceHistory is checked at construction; a device given while it is off is a configuration error', async () => {
  for (const [value, pattern] of [
    [{ max: 0 }, /deviceHistory\.max must be an integer from 1 to 1000/],
    [{ max: 1.5 }, /deviceHistory\.max/],
    [{ ttl: -1 }, /deviceHistory\.ttl must be a finite number > 0/],
    ['yes', /deviceHistory must be true or/],
  ] as const) {
    try {
      harness({ deviceHistory: value as never });
      assert.unreachable(JSON.stringify(value));
    } catch (error) {
      assert.instance(error, SessionError);
      assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as SessionError).message, pattern);
    }
  }
  // A store without the capability.
  const store = new ReferenceRefreshTokenStore();
  Object.defineProperty(store, 'rememberDevice', { value: undefined });
  try {
    harness({ deviceHistory: true, refreshTokenStore: store });
    assert.unreachable('a store without rememberDevice');
  } catch (error) {
    assert.match((error as Error).message, /deviceHistory needs a refreshTokenStore with rememberDevice/);
  }
  const off = track(harness());
  await rejectsWith(off.manager.create('alice', { device: LAPTOP }), 'ERR_CONFIG_INVALID');
  assert.equal(await off.manager.readAll('alice'), []);
  track(harness({ deviceHistory: false }));
});

S.run();

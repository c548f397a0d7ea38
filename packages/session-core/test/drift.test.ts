import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_DEVICE_CHANGED, SESSION_INVALIDATED, type DriftPolicy, type SessionEvents } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness, type Harness } from './helpers.js';

/*
 * Issue 22, "drift": update()'s `device` against the one the session was
 * created (or last refreshed) with, under the manager's `drift` policy.
 */
const S = suite('drift policy');
const open: Harness[] = [];
const track = (h: Harness) => (open.push(h), h);
S.after.each(async () => {
  for (const h of open.splice(0)) await h.close();
});

const LAPTOP = { summary: 'Firefox on macOS', network: '203.0.113.0/24' };
const MOVED = { ...LAPTOP, network: '198.51.100.0/24' };
const UPDATED = { ...LAPTOP, summary: 'Chrome on macOS' };

function setup(drift: DriftPolicy, extra: Record<string, unknown> = {}) {
  const h = track(harness({ drift, ...extra }));
  const seen: SessionEvents['sessionDeviceChanged'][] = [];
  h.manager.on(SESSION_DEVICE_CHANGED, (e) => seen.push(e));
  return { h, seen };
}

S('the option is checked; a device needs drift (or deviceHistory); off is the default and compares nothing', async () => {
  for (const bad of ['on', 'OBSERVE', true, 1, null]) {
    assert.throws(() => harness({ drift: bad as never }), (e: Error) => (e as { code?: string }).code === 'ERR_CONFIG_INVALID' && /options\.drift/.test(e.message), String(bad));
  }
  const off = track(harness());
  const t = await off.manager.create('alice');
  await rejectsWith(off.manager.update(t.refreshToken, { device: LAPTOP }), 'ERR_CONFIG_INVALID');
  await rejectsWith(off.manager.create('alice', { device: LAPTOP }), 'ERR_CONFIG_INVALID');
  // With deviceHistory on, one device source feeds create() (the history) and update() (drift): update() ignores it while drift is off.
  const history = track(harness({ deviceHistory: true }));
  const h1 = await history.manager.create('alice', { device: LAPTOP });
  const h2 = await history.manager.update(h1.refreshToken, { device: { summary: 'Other', network: '198.51.100.0/24' } });
  assert.is(h2.sessionId, h1.sessionId);
  assert.is((await history.manager.read(h2.accessToken)).dnh, undefined);
  const { h } = setup('observe');
  await rejectsWith(h.manager.update((await h.manager.create('alice')).refreshToken, { device: { summary: 'x' } as never }), 'ERR_CLAIMS_INVALID');
});

S("'observe': a changed network or summary emits sessionDeviceChanged (never the values), the refresh succeeds, the new device becomes the session's", async () => {
  const { h, seen } = setup('observe');
  const a = await h.manager.create('alice', { device: LAPTOP });
  const b = await h.manager.update(a.refreshToken, { device: LAPTOP });
  assert.equal(seen, [], 'the same device');
  const c = await h.manager.update(b.refreshToken, { device: MOVED });
  assert.equal(seen, [{ subject: 'alice', sessionId: a.sessionId, at: h.clock.now, changed: ['network'], revoked: false }]);
  assert.not.match(JSON.stringify(seen), /198\.51|203\.0|Firefox/);
  const d = await h.manager.update(c.refreshToken, { device: MOVED });
  assert.is(seen.length, 1, 'the moved network is now the session\'s');
  const e = await h.manager.update(d.refreshToken, { device: { ...UPDATED, network: MOVED.network } });
  assert.equal(seen[1]!.changed, ['summary']);
  await h.manager.update(e.refreshToken, { device: LAPTOP });
  assert.equal(seen[2]!.changed, ['summary', 'network']);
  // Nothing of it in the access token (only the 'refresh' policy puts the network there) nor in readAll.
  assert.is((await h.manager.read(e.accessToken)).dnh, undefined);
  assert.not.match(JSON.stringify(await h.manager.readAll('alice')), /198\.51|203\.0|Firefox/);
});

S('an update without a device keeps the recorded one; a session created without one starts recording at its first', async () => {
  const { h, seen } = setup('observe');
  const a = await h.manager.create('alice', { device: LAPTOP });
  const b = await h.manager.update(a.refreshToken);
  await h.manager.update(b.refreshToken, { device: MOVED });
  assert.equal(seen.map((e) => e.changed), [['network']], 'compared with the device of create(), across an update without one');
  const plain = await h.manager.create('alice');
  const first = await h.manager.update(plain.refreshToken, { device: LAPTOP });
  assert.is(seen.length, 1, 'nothing recorded: nothing to compare');
  await h.manager.update(first.refreshToken, { device: MOVED });
  assert.is(seen.length, 2);
});

S("'revoke': the session ends on every path (refresh and access tokens), ERR_REFRESH_TOKEN_INVALID (drift), the event says revoked", async () => {
  const { h, seen } = setup('revoke');
  const invalidated: unknown[] = [];
  h.manager.on(SESSION_INVALIDATED, (e) => invalidated.push(e));
  const a = await h.manager.create('alice', { device: LAPTOP });
  const b = await h.manager.update(a.refreshToken, { device: LAPTOP });
  const error = await rejectsWith(h.manager.update(b.refreshToken, { device: MOVED }), 'ERR_REFRESH_TOKEN_INVALID');
  assert.is(error.reason, 'drift');
  assert.equal(seen, [{ subject: 'alice', sessionId: a.sessionId, at: h.clock.now, changed: ['network'], revoked: true }]);
  assert.is(invalidated.length, 1, 'revoked through the usual path');
  await rejectsWith(h.manager.read(b.accessToken), 'ERR_SESSION_REVOKED');
  assert.equal(await h.manager.readAll('alice'), []);
  // The same device again, with the token the refused refresh presented: the session is gone.
  await rejectsWith(h.manager.update(b.refreshToken, { device: LAPTOP }), 'ERR_REFRESH_TOKEN_INVALID');
});

S('racing refreshes of one token: each compares its own device with the recorded one; none slips a change by', async () => {
  const { h, seen } = setup('observe', { refreshTokenReuseInterval: 10 });
  const a = await h.manager.create('alice', { device: LAPTOP });
  // The first rotates; the second gets the same pair within the reuse interval, after the first recorded MOVED.
  const [x, y] = await Promise.all([h.manager.update(a.refreshToken, { device: MOVED }), h.manager.update(a.refreshToken, { device: UPDATED })]);
  assert.is(x.accessToken.length > 0 && y.accessToken.length > 0, true);
  assert.equal(seen.map((e) => e.changed).sort(), [['network'], ['summary']]);
  // One honest, one not: the change is seen whichever lands first.
  const { h: r, seen: revoked } = setup('revoke', { refreshTokenReuseInterval: 10 });
  const b = await r.manager.create('alice', { device: LAPTOP });
  const results = await Promise.allSettled([r.manager.update(b.refreshToken, { device: LAPTOP }), r.manager.update(b.refreshToken, { device: MOVED })]);
  assert.is(results[1].status, 'rejected');
  assert.equal(revoked.map((e) => e.revoked), [true]);
  assert.equal(await r.manager.readAll('alice'), [], 'the session ended');
});

S("'refresh': the access token carries the network's keyed mark (dnh); checkNetwork refuses it from another network until a refresh, which observes", async () => {
  const { h, seen } = setup('refresh');
  const a = await h.manager.create('alice', { device: LAPTOP });
  const claims = await h.manager.read(a.accessToken);
  assert.type(claims.dnh, 'string');
  assert.is((claims.dnh as string).length, 11);
  assert.not.match(a.accessToken + a.refreshToken, /203|Firefox/);
  h.manager.checkNetwork(claims, LAPTOP.network);
  const refused = await rejectsWith(Promise.resolve().then(() => h.manager.checkNetwork(claims, MOVED.network)), 'ERR_AUTH_TOKEN_INVALID');
  assert.is(refused.reason, 'drift');
  const b = await h.manager.update(a.refreshToken, { device: MOVED });
  assert.equal(seen, [{ subject: 'alice', sessionId: a.sessionId, at: h.clock.now, changed: ['network'], revoked: false }]);
  const moved = await h.manager.read(b.accessToken);
  h.manager.checkNetwork(moved, MOVED.network);
  await rejectsWith(Promise.resolve().then(() => h.manager.checkNetwork(moved, LAPTOP.network)), 'ERR_AUTH_TOKEN_INVALID');
  // Another session on the same network gets another mark: the claim links nothing across sessions.
  const other = await h.manager.read((await h.manager.create('alice', { device: MOVED })).accessToken);
  assert.is.not(other.dnh, moved.dnh);
  // A token without a device carries nothing and passes: the check costs nothing there.
  const plain = await h.manager.read((await h.manager.create('alice')).accessToken);
  assert.is(plain.dnh, undefined);
  h.manager.checkNetwork(plain, 'anything');
  // Callers cannot set the claim themselves.
  await rejectsWith(h.manager.create('alice', { claims: { dnh: moved.dnh } }), 'ERR_CLAIMS_INVALID');
});

S('the recorded device is under the refresh token\'s mac: a segment moved from another token, or removed, is refused', async () => {
  const { h } = setup('observe');
  const a = await h.manager.create('alice', { device: LAPTOP });
  const b = await h.manager.create('alice', { device: MOVED });
  const segment = (t: string) => t.split('.').find((part) => part.startsWith('~'))!;
  assert.is(segment(a.refreshToken).length, 23);
  const swapped = a.refreshToken.replace(segment(a.refreshToken), segment(b.refreshToken));
  assert.is((await rejectsWith(h.manager.update(swapped, { device: MOVED }), 'ERR_REFRESH_TOKEN_INVALID')).reason, 'mac');
  const removed = a.refreshToken.replace(`.${segment(a.refreshToken)}`, '');
  assert.is((await rejectsWith(h.manager.update(removed, { device: MOVED }), 'ERR_REFRESH_TOKEN_INVALID')).reason, 'mac');
  // And the session is intact: its own token still refreshes.
  await h.manager.update(a.refreshToken, { device: LAPTOP });
});

S('a DPoP-bound session with a device: the longest refresh token parses, keeps its binding and its device', async () => {
  const { h, seen } = setup('refresh');
  // A thumbprint as the manager records it (43 base64url characters); update() is given the same key's.
  const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
  const a = await h.manager.create('alice', { dpop: { jkt }, device: LAPTOP });
  assert.is(a.refreshToken.split('.').length, 6);
  const b = await h.manager.update(a.refreshToken, { dpop: { jkt }, device: MOVED });
  assert.equal(seen.map((e) => e.changed), [['network']]);
  const claims = await h.manager.read(b.accessToken);
  assert.equal(claims.cnf, { jkt });
  h.manager.checkNetwork(claims, MOVED.network);
  await rejectsWith(h.manager.update(b.refreshToken, { device: MOVED }), 'ERR_DPOP_BINDING_MISMATCH');
});

S('reauthenticate keeps the recorded device', async () => {
  const { h, seen } = setup('observe');
  const a = await h.manager.create('alice', { device: LAPTOP });
  const b = await h.manager.reauthenticate('alice', a.sessionId, { refreshToken: a.refreshToken, amr: ['pwd'] });
  await h.manager.update(b.refreshToken, { device: MOVED });
  assert.equal(seen.map((e) => e.changed), [['network']]);
});

S.run();

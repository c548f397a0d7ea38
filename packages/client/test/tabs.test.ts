// Tabs of one browser: one cookie jar, one Web Lock name, one BroadcastChannel.
// With refreshTokenReuseInterval 0 a refresh token spent twice revokes the
// session, so these tests guard that tabs never race on the cookie.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, type SignedOutReason } from '../src/index.js';
import { Profile, ProcessLocks, until } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('tabs');
let server: TestServer;
const clients: SessionClient[] = [];

S.before(async () => {
  server = await startTestServer({ accessTokenTtl: 3, refreshTokenReuseInterval: 0 });
});
S.after.each(() => {
  for (const client of clients.splice(0)) client.close();
});
S.after(async () => {
  await server.close();
});

/** `count` tabs of one browser profile. */
function browserTabs(count: number, locks: ProcessLocks | null = new ProcessLocks()) {
  const profile = new Profile();
  const channel = `tabs-${randomUUID()}`;
  const tabs = Array.from({ length: count }, () => new SessionClient({ baseUrl: `${server.url}/auth`, fetch: profile.fetch, channel, locks }));
  clients.push(...tabs);
  const out: SignedOutReason[][] = tabs.map((tab) => {
    const reasons: SignedOutReason[] = [];
    tab.on('signedOut', ({ reason }) => reasons.push(reason));
    return reasons;
  });
  return { profile, tabs, out, channel, locks };
}

S('five tabs renewing at the same moment: one rotation, every tab gets its result, nobody is signed out', async () => {
  const locks = new ProcessLocks();
  const { tabs, out } = browserTabs(5, locks);
  const [first, ...others] = tabs as [SessionClient, ...SessionClient[]];
  await first.signIn({ username: 'tab-a', password: PASSWORD });
  // Sign-in in one tab signs the others in (same cookie, same session).
  await until('the other tabs to adopt the session', () => others.every((tab) => tab.session?.sessionId === first.session!.sessionId));
  const rotations = server.rotations();
  await Promise.all(tabs.map((tab) => tab.refresh()));
  assert.is(server.rotations(), rotations + 1);
  assert.ok(locks.contended >= 4, 'the tabs did contend for the lock');
  await until('every tab on the new token', async () => new Set(await Promise.all(tabs.map((tab) => tab.token()))).size === 1);
  assert.equal(out.flat(), []);
  for (const tab of tabs) assert.is((await tab.fetch(`${server.url}/api/me`)).status, 200);
});

S('scheduled renewals over several lifetimes: one rotation per expiry, no reuse, no sign-out', async () => {
  const { tabs, out } = browserTabs(4);
  await tabs[0]!.signIn({ username: 'tab-b', password: PASSWORD });
  await until('all tabs signed in', () => tabs.every((tab) => tab.session !== null));
  const rotations = server.rotations();
  const reused = server.refreshCalls.get(401) ?? 0;
  // 3 s tokens (2 to 3 s left when received, counted as 1 to 2), renewed 30% ahead: every tab's timer
  // fires 0.7 to 1.4 s after the last rotation. A tab rotating again right after another would show
  // as two rotations a few ms apart.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const times = server.rotationTimes.slice(rotations);
  assert.ok(times.length >= 3, `${times.length} rotations in 5 s`);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(Math.min(...gaps) >= 500, `rotations ${gaps.join(', ')} ms apart`);
  assert.is(server.refreshCalls.get(401) ?? 0, reused);
  assert.equal(out.flat(), []);
  for (const tab of tabs) assert.is((await tab.fetch(`${server.url}/api/me`)).status, 200);
});

S('a tab loading while others are signed in takes the session over without a race', async () => {
  const { profile, tabs, channel, locks, out } = browserTabs(2);
  await tabs[0]!.signIn({ username: 'tab-c', password: PASSWORD });
  await until('both signed in', () => tabs.every((tab) => tab.session !== null));
  const late = new SessionClient({ baseUrl: `${server.url}/auth`, fetch: profile.fetch, channel, locks });
  clients.push(late);
  // It restores while the others renew: all through the one lock.
  const [restored] = await Promise.all([late.restore(), ...tabs.map((tab) => tab.refresh())]);
  assert.is(restored, true);
  assert.is(late.session?.sessionId, tabs[0]!.session?.sessionId);
  assert.equal(out.flat(), []);
  assert.is((await late.fetch(`${server.url}/api/me`)).status, 200);
});

S('a tab signing out signs every tab of the browser out with reason signed-out', async () => {
  const { tabs, out, profile } = browserTabs(3);
  await tabs[1]!.signIn({ username: 'tab-d', password: PASSWORD });
  await until('all tabs signed in', () => tabs.every((tab) => tab.session !== null));
  await tabs[1]!.signOut();
  await until('all tabs signed out', () => out.every((reasons) => reasons.length === 1));
  assert.equal(out, [['signed-out'], ['signed-out'], ['signed-out']]);
  assert.is(profile.cookies.size, 0);
});

S('a revoked session: the tab that finds out tells the others, with the reason', async () => {
  const { tabs, out } = browserTabs(3);
  const { sessionId } = await tabs[0]!.signIn({ username: 'tab-e', password: PASSWORD });
  await until('all tabs signed in', () => tabs.every((tab) => tab.session !== null));
  await server.manager.deleteOne('tab-e', sessionId);
  await tabs[2]!.refresh();
  await until('all tabs signed out', () => out.every((reasons) => reasons.length === 1));
  assert.equal(out, [['revoked'], ['revoked'], ['revoked']]);
});

S('without Web Locks: a tab that hears a sibling announce its renewal waits for the result instead of racing', async () => {
  const profile = new Profile();
  const channel = `nolocks-${randomUUID()}`;
  // The first tab's network is slow, so its renewal is still in flight when the others decide.
  const slow: typeof fetch = async (input, init) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return profile.fetch(input, init);
  };
  const make = (fetchImpl: typeof fetch) => new SessionClient({ baseUrl: `${server.url}/auth`, fetch: fetchImpl, channel, locks: null });
  const tabs = [make(slow), make(profile.fetch), make(profile.fetch)];
  clients.push(...tabs);
  const out: SignedOutReason[] = [];
  for (const tab of tabs) tab.on('signedOut', ({ reason }) => out.push(reason));
  await tabs[1]!.signIn({ username: 'tab-g', password: PASSWORD });
  await until('all signed in', () => tabs.every((tab) => tab.session !== null));
  const rotations = server.rotations();
  const first = tabs[0]!.refresh();
  await new Promise((resolve) => setTimeout(resolve, 50)); // its announcement has arrived, its request not answered
  await Promise.all([first, tabs[1]!.refresh(), tabs[2]!.refresh()]);
  assert.is(server.rotations(), rotations + 1);
  await until('one token in every tab', async () => new Set(await Promise.all(tabs.map((tab) => tab.token()))).size === 1);
  assert.equal(out, []);
});

S('the lock holder failing (offline) lets a queued tab try itself', async () => {
  const locks = new ProcessLocks();
  const { tabs, profile, out } = browserTabs(2, locks);
  await tabs[0]!.signIn({ username: 'tab-f', password: PASSWORD });
  await until('both signed in', () => tabs.every((tab) => tab.session !== null));
  const rotations = server.rotations();
  profile.offline = true;
  const results = await Promise.allSettled(tabs.map((tab) => tab.refresh()));
  assert.equal(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.ok(locks.contended >= 1);
  profile.offline = false;
  await Promise.all(tabs.map((tab) => tab.refresh()));
  assert.is(server.rotations(), rotations + 1);
  assert.equal(out.flat(), []);
});

S.run();

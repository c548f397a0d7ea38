import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REFRESH_TOKEN_REUSED, SessionError, storeInput, type RefreshTokenStore, type RotateRequest, type RotateResult, type SessionEvents } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness, type Harness } from './helpers.js';
import { ReferenceRefreshTokenStore } from './reference-storage.js';

/*
 * Issue 22, "Reuse told apart": which kind of reuse a refusal was, and the
 * policy per kind. The kinds on every store are in the conformance suite
 * (manager-suite.ts); here what needs a store that lost writes, a store
 * written before the kinds existed, and the option's checks.
 */
const S = suite('reuse told apart');
const open: Harness[] = [];
const track = (h: Harness) => (open.push(h), h);
S.after.each(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** A client whose store was restored from a backup taken before its last two rotations (or failed over to a replica that missed them). */
async function branchToken(h: Harness) {
  const events: SessionEvents['refreshTokenReused'][] = [];
  h.manager.on(REFRESH_TOKEN_REUSED, (e) => events.push(e));
  const first = await h.manager.update((await h.manager.create('alice')).refreshToken);
  const backup = h.store.snapshot(first.sessionId);
  const ahead = await h.manager.update((await h.manager.update(first.refreshToken)).refreshToken);
  h.store.restore(backup);
  return { first, ahead, events };
}

S('a token past the store’s chain (a restored backup) is a branch: reason reused_branch, the session revoked by default', async () => {
  const h = track(harness());
  const { ahead, events } = await branchToken(h);
  assert.is((await rejectsWith(h.manager.update(ahead.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_branch');
  assert.equal(events, [{ subject: 'alice', sessionId: ahead.sessionId, kind: 'branch', revoked: true }]);
  await rejectsWith(h.manager.read(ahead.accessToken), 'ERR_SESSION_REVOKED');
  assert.equal(await h.manager.readAll('alice'), []);
});

S("{ branch: 'refuse' }: the branch token is refused and nothing is revoked", async () => {
  const h = track(harness({ refreshTokenReusePolicy: { branch: 'refuse' } }));
  const { first, ahead, events } = await branchToken(h);
  assert.is((await rejectsWith(h.manager.update(ahead.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_branch');
  assert.equal(events, [{ subject: 'alice', sessionId: ahead.sessionId, kind: 'branch', revoked: false }]);
  assert.is((await h.manager.read(ahead.accessToken)).sid, ahead.sessionId);
  // The store's own current token (the backup's) still rotates.
  await h.manager.update(first.refreshToken);
});

S('a token older than the walk bound (1,024 rotations) is an ancestor, not a branch', async () => {
  const h = track(harness({ refreshTokenReusePolicy: { ancestor: 'refuse' } }));
  const first = await h.manager.create('alice');
  let t = first;
  for (let n = 0; n < 1030; n++) t = await h.manager.update(t.refreshToken);
  assert.is((await rejectsWith(h.manager.update(first.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_ancestor');
  await h.manager.read(t.accessToken);
});

/** A store written before the kinds: its mismatch carries no hash or generation, and it deletes on any reuse of the previous token. */
class OlderStore extends ReferenceRefreshTokenStore {
  override async rotate(request: RotateRequest): Promise<RotateResult> {
    const { revokePrevious: _ignored, ...rest } = request;
    const result = await super.rotate(rest);
    return result.status === 'mismatch' ? { status: 'mismatch', subject: result.subject } : result;
  }
}

S('a store that reports no current hash: a mismatch counts as an ancestor (it revokes under the default)', async () => {
  const store: RefreshTokenStore = new OlderStore();
  const h = track(harness({ refreshTokenStore: store }));
  const events: SessionEvents['refreshTokenReused'][] = [];
  h.manager.on(REFRESH_TOKEN_REUSED, (e) => events.push(e));
  const a = await h.manager.create('alice');
  const b = await h.manager.update(a.refreshToken);
  const c = await h.manager.update(b.refreshToken);
  assert.is((await rejectsWith(h.manager.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_ancestor');
  assert.equal(events, [{ subject: 'alice', sessionId: a.sessionId, kind: 'ancestor', revoked: true }]);
  await rejectsWith(h.manager.read(c.accessToken), 'ERR_SESSION_REVOKED');
  await store.close?.();
});

S("a store that ignores revokePrevious: false deleted the session; the manager revokes its access tokens too (fail safe)", async () => {
  const store = new OlderStore();
  const h = track(harness({ refreshTokenStore: store, refreshTokenReusePolicy: { previous: 'refuse' } }));
  const events: SessionEvents['refreshTokenReused'][] = [];
  h.manager.on(REFRESH_TOKEN_REUSED, (e) => events.push(e));
  const a = await h.manager.create('alice');
  const b = await h.manager.update(a.refreshToken);
  assert.is((await rejectsWith(h.manager.update(a.refreshToken), 'ERR_REFRESH_TOKEN_REUSED')).reason, 'reused_previous');
  assert.equal(events, [{ subject: 'alice', sessionId: a.sessionId, kind: 'previous', revoked: true }]);
  await rejectsWith(h.manager.read(b.accessToken), 'ERR_SESSION_REVOKED');
  await store.close();
});

S('refreshTokenReusePolicy is checked at construction, naming the option', () => {
  for (const [policy, pattern] of [
    ['revoke', /refreshTokenReusePolicy must be an object/],
    [null, /refreshTokenReusePolicy must be an object/],
    [[], /refreshTokenReusePolicy must be an object/],
    [{ previos: 'refuse' }, /unknown kind "previos"/],
    [{ 'a\nb': 'refuse' }, /unknown kind "a\?b"/],
    [{ previous: 'ignore' }, /refreshTokenReusePolicy\.previous must be 'revoke' or 'refuse'/],
    [{ branch: true }, /refreshTokenReusePolicy\.branch must be/],
  ] as const) {
    try {
      harness({ refreshTokenReusePolicy: policy as never });
      assert.unreachable(JSON.stringify(policy));
    } catch (error) {
      assert.instance(error, SessionError);
      assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as SessionError).message, pattern);
    }
  }
  // All three named: accepted.
  track(harness({ refreshTokenReusePolicy: { previous: 'refuse', ancestor: 'revoke', branch: 'refuse' } }));
});

S('storeInput.rotate (the check every store applies) refuses a revokePrevious that is not a boolean, and reads a missing one as true', () => {
  const request = { sessionId: 'AAAAsessionidsessionidsess', presentedHash: 'a'.repeat(43), successorHash: 'b'.repeat(43), now: Date.now(), reuseInterval: 0 };
  assert.is(storeInput.rotate(request).revokePrevious, true);
  assert.is(storeInput.rotate({ ...request, revokePrevious: false }).revokePrevious, false);
  try {
    storeInput.rotate({ ...request, revokePrevious: 'no' as never });
    assert.unreachable('accepted');
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_CLAIMS_INVALID');
  }
});

S.run();

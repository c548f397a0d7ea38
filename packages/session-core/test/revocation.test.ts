import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ALL_SESSIONS_INVALIDATED, JwtUserSessionManager, type RefreshTokenStore, type SessionEvents } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { AUDIENCE, ISSUER, SECRET } from './helpers.js';
import { ReferenceBroadcaster, ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';

/*
 * Revocation must fail safe across nodes: two managers (two "nodes") share one
 * store and one broadcaster; each has its own invalidation cache and clock.
 * The store is wrapped so a test can make a call run but lose its reply, as a
 * stalled Redis does (the command runs when it wakes; the caller already gave up).
 */
const S = suite('revocation fails safe');

type Lost = 'insert' | 'delete' | 'deleteAll' | undefined;

/** A store whose next call of one kind runs and then "times out" (the reply is lost), or does not run at all. */
function lossyStore(inner: ReferenceRefreshTokenStore) {
  const control = { lose: undefined as Lost, run: true };
  const store = new Proxy(inner, {
    get(target, name) {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (control.lose === name) {
          control.lose = undefined;
          if (control.run) await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          throw new Error('no answer within 1000 ms');
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  }) as RefreshTokenStore;
  return { store, control };
}

function nodes(options: { maxSessionsPerSubject?: number; refreshTokenTtl?: number; skewB?: number } = {}) {
  const clock = { now: Date.now() };
  const inner = new ReferenceRefreshTokenStore({ clock: () => clock.now });
  const { store, control } = lossyStore(inner);
  const hub = new ReferenceBroadcaster();
  const make = (skew: number) =>
    new JwtUserSessionManager({
      keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
      issuer: ISSUER,
      audience: AUDIENCE,
      refreshTokenStore: store,
      invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
      broadcaster: hub,
      clock: () => clock.now + skew,
      ...(options.maxSessionsPerSubject ? { maxSessionsPerSubject: options.maxSessionsPerSubject } : {}),
      ...(options.refreshTokenTtl ? { refreshTokenTtl: options.refreshTokenTtl } : {}),
    });
  const a = make(0);
  const b = make(options.skewB ?? 0);
  return {
    a,
    b,
    clock,
    control,
    inner,
    close: async () => {
      await a.close();
      await b.close();
      await inner.close();
    },
  };
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const revokedOn = async (m: JwtUserSessionManager, token: string) =>
  m.read(token).then(
    () => false,
    (e: { code?: string }) => e.code === 'ERR_SESSION_REVOKED',
  );

// Guards defect #10.5: a deleteOne whose store call timed out (but ran later) left the access tokens valid, and the retried deleteOne returned false and invalidated nothing.
S('deleteOne whose delete ran but whose reply was lost: the tokens are rejected on both nodes, and a retry still says false', async () => {
  const n = nodes();
  const t = await n.a.create('alice');
  await n.b.read(t.accessToken);
  n.control.lose = 'delete';
  await rejectsWith(n.a.deleteOne('alice', t.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  await rejectsWith(n.a.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await rejectsWith(n.b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  // A retry on a third node: the store no longer has the session, yet the node that retried must reject it too.
  const c = nodes();
  const cm = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE,
    refreshTokenStore: n.inner, invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
  });
  assert.is(await cm.deleteOne('alice', t.sessionId), false);
  await rejectsWith(cm.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await cm.close();
  await c.close();
  await n.close();
});

S('deleteOne whose delete never ran (no answer at all) still revokes the access tokens everywhere', async () => {
  const n = nodes();
  const t = await n.a.create('alice');
  n.control.lose = 'delete';
  n.control.run = false;
  await rejectsWith(n.a.deleteOne('alice', t.sessionId), 'ERR_STORAGE_UNAVAILABLE');
  await rejectsWith(n.b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await n.close();
});

S('deleteOne of another subject’s session id, or of a non-id, revokes nothing and answers false', async () => {
  const n = nodes();
  const bob = await n.a.create('bob');
  assert.is(await n.a.deleteOne('alice', bob.sessionId), false);
  assert.is(await n.a.deleteOne('alice', 'not a session id'), false);
  await n.b.read(bob.accessToken);
  await rejectsWith(n.a.deleteOne('alice', null as never), 'ERR_CLAIMS_INVALID');
  await n.close();
});

// Guards defect #10.8: a deleteOne right after the refresh deadline did nothing, yet the last access token (capped at the deadline) was accepted for clockTolerance more seconds.
S('deleteOne of a session whose deadline just passed still rejects its last access token', async () => {
  const n = nodes({ refreshTokenTtl: 60 });
  const t = await n.a.create('alice');
  n.clock.now += 61_000;
  await n.b.read(t.accessToken); // within clockTolerance past exp
  assert.is(await n.a.deleteOne('alice', t.sessionId), false);
  await rejectsWith(n.a.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await rejectsWith(n.b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await n.close();
});

// Guards defect #10.6: a create whose insert ran late evicted the oldest session with no invalidation: its tokens stayed valid on every node.
S('create whose insert ran but whose reply was lost (cap reached): the evicted session is revoked on both nodes once the store answers', async () => {
  const n = nodes({ maxSessionsPerSubject: 1 });
  const old = await n.a.create('alice');
  await n.b.read(old.accessToken);
  n.control.lose = 'insert';
  await rejectsWith(n.a.create('alice'), 'ERR_STORAGE_UNAVAILABLE');
  await eventually(async () => (await revokedOn(n.a, old.accessToken)) && (await revokedOn(n.b, old.accessToken)), 'evicted session rejected on both nodes');
  // The session the lost insert created is removed: nobody holds its tokens.
  await eventually(async () => (await n.a.readAll('alice')).length === 0, 'orphan removed');
  await n.close();
});

S('create whose insert never ran: nothing is evicted, then or later', async () => {
  const n = nodes({ maxSessionsPerSubject: 1 });
  const old = await n.a.create('alice');
  n.control.lose = 'insert';
  n.control.run = false;
  await rejectsWith(n.a.create('alice'), 'ERR_STORAGE_UNAVAILABLE');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await n.b.read(old.accessToken);
  assert.equal((await n.a.readAll('alice')).map((s) => s.sessionId), [old.sessionId]);
  await n.close();
});

// Guards defect #10.7: deleteAll compared issue times with the caller's clock only; a token issued by a node running ahead, just before, stayed valid everywhere.
S('deleteAll rejects a token issued just before by a node whose clock runs 2 s ahead, on both nodes', async () => {
  const n = nodes({ skewB: 2000 });
  const t = await n.b.create('alice');
  await n.a.read(t.accessToken);
  assert.is(await n.a.deleteAll('alice'), 1);
  await rejectsWith(n.a.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await rejectsWith(n.b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await n.close();
});

S('deleteAll takes its moment from the store’s clock when it is ahead of the caller’s, and says which sessions it found', async () => {
  const n = nodes();
  const slow = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE,
    refreshTokenStore: n.inner, invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
    clock: () => n.clock.now - 500,
  });
  const t = await n.a.create('alice');
  const seen: SessionEvents['allSessionsInvalidated'][] = [];
  slow.on(ALL_SESSIONS_INVALIDATED, (e) => seen.push(e));
  await slow.deleteAll('alice');
  assert.is(seen[0]!.at, n.clock.now, 'not the store’s clock');
  assert.equal(seen[0]!.sessionIds, [t.sessionId]);
  await slow.close();
  await n.close();
});

S('deleteAll whose store call failed still revokes the subject everywhere (fail safe)', async () => {
  const n = nodes();
  const t = await n.a.create('alice');
  n.control.lose = 'deleteAll';
  n.control.run = false;
  n.clock.now += 1;
  await rejectsWith(n.a.deleteAll('alice'), 'ERR_STORAGE_UNAVAILABLE');
  await rejectsWith(n.b.read(t.accessToken), 'ERR_SESSION_REVOKED');
  await n.close();
});

S('isRevoked answers bad input with a coded error', async () => {
  const n = nodes();
  for (const bad of [null, undefined, 42, 'x', {}, { sub: 'a', sid: 1, jti: 'j' }]) {
    try {
      n.a.isRevoked(bad as never);
      assert.unreachable('accepted');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_AUTH_TOKEN_INVALID');
    }
  }
  await n.close();
});

S.run();

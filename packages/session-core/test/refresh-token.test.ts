import { hash, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';

const S = suite('refresh tokens');

S('a refresh token holds 256 random bits and the store keeps only a hash of them', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  const [sid, , secret] = t.refreshToken.split('.') as [string, string, string];
  assert.is(sid, t.sessionId);
  assert.is(Buffer.from(secret, 'base64url').length, 32);
  const stored = JSON.stringify(await h.store.list('alice', h.clock.now));
  assert.not.ok(stored.includes(secret));
  const secrets = new Set<string>();
  for (let i = 0; i < 200; i++) secrets.add((await h.manager.create('alice')).refreshToken.split('.')[2]!);
  assert.is(secrets.size, 200);
  await h.close();
});

S('malformed refresh tokens are invalid without a storage call', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  const bad = ['', 'x', t.accessToken, `${t.refreshToken}x`, ` ${t.refreshToken}`, t.refreshToken.replace('.', ''), t.refreshToken.toUpperCase(), 'a'.repeat(10_000), 42, null, undefined, {}];
  for (const token of bad) await rejectsWith(h.manager.update(token as never), 'ERR_REFRESH_TOKEN_INVALID', String(token).slice(0, 30));
  await h.manager.update(t.refreshToken);
  await h.close();
});

// Guards defect #10.2: a real (public) session id with a random secret made update() walk up to 1,024 HMAC steps and ask the store each time: a CPU amplifier that could be repeated forever.
S('a forged refresh token for a real session is refused before any store call, and the session is left alone', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  let storeCalls = 0;
  const counting = new Proxy(h.store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        storeCalls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const m = harness({ refreshTokenStore: counting });
  const [sid, deadline, secret, mac] = t.refreshToken.split('.') as [string, string, string, string | undefined];
  const random = (bytes: number) => randomBytes(bytes).toString('base64url');
  const forgeries = [
    `${sid}.${deadline}.${random(32)}`,
    `${sid}.${deadline}.${random(32)}.${random(16)}`,
    `${sid}.${deadline}.${random(32)}.${mac ?? random(16)}`,
    `${sid}.${(Number.parseInt(deadline, 36) + 1).toString(36)}.${secret}.${mac ?? random(16)}`,
  ];
  for (const forged of forgeries) await rejectsWith(m.manager.update(forged), 'ERR_REFRESH_TOKEN_INVALID', forged.slice(27));
  assert.is(storeCalls, 0, 'a forgery reached the store');
  const next = await m.manager.update(t.refreshToken);
  assert.is((await m.manager.read(next.accessToken)).sid, t.sessionId);
  await m.close();
  await h.close();
});

S('the mac has one spelling: its last character carries 4 zero bits, and a token that sets any of them is refused', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(t.refreshToken.at(-1)!);
  assert.is(last & 0b1111, 0, 'we write the zero bits');
  for (let low = 1; low < 16; low++) {
    // Same 16 mac bytes once decoded; another spelling.
    const twin = t.refreshToken.slice(0, -1) + alphabet[last | low];
    assert.equal(Buffer.from(twin.split('.')[3]!, 'base64url'), Buffer.from(t.refreshToken.split('.')[3]!, 'base64url'));
    await rejectsWith(h.manager.update(twin), 'ERR_REFRESH_TOKEN_INVALID');
  }
  await h.manager.update(t.refreshToken);
  await h.close();
});

// Guards the successor derivation: SHA-256 of a label, the session id and the secret (no key; the mac gates every token).
S('the successor secret comes from the presented token alone: the same on a retry, never the stored hash, and useless without its mac', async () => {
  const h = harness({ refreshTokenReuseInterval: 60 });
  const t = await h.manager.create('alice');
  const [sid, , secret] = t.refreshToken.split('.') as [string, string, string];
  const expected = hash('sha256', `jwt-session/rotate/v2\0${sid}\0${secret}`, 'base64url');
  const next = await h.manager.update(t.refreshToken);
  assert.is(next.refreshToken.split('.')[2], expected);
  // A retry within the reuse interval yields the same successor.
  assert.is((await h.manager.update(t.refreshToken)).refreshToken, next.refreshToken);
  assert.is.not(expected, hash('sha256', secret, 'base64url'));
  // Whoever holds a secret can compute its successor, but a token needs the mac, which needs the key.
  const [, deadline] = next.refreshToken.split('.') as [string, string];
  const successor = hash('sha256', `jwt-session/rotate/v2\0${sid}\0${expected}`, 'base64url');
  await rejectsWith(h.manager.update(`${sid}.${deadline}.${successor}.${'A'.repeat(22)}`), 'ERR_REFRESH_TOKEN_INVALID', 'guessed mac');
  await h.manager.update(next.refreshToken);
  await h.close();
});

S('a refresh token for a session that never existed is invalid; one past its deadline is expired', async () => {
  const h = harness({ refreshTokenTtl: 60 });
  const t = await h.manager.create('alice');
  const [, deadline, secret] = t.refreshToken.split('.') as [string, string, string];
  await rejectsWith(h.manager.update(`AAAAAAAAAAAAAAAAAAAAAAAAAA.${deadline}.${secret}`), 'ERR_REFRESH_TOKEN_INVALID');
  await h.store.close();
  h.clock.now += 61_000;
  await rejectsWith(h.manager.update(t.refreshToken), 'ERR_REFRESH_TOKEN_EXPIRED');
  await h.close();
});

S('a stolen token used after the owner refreshed is caught (reuse), and both parties lose the session', async () => {
  const h = harness();
  const issued = await h.manager.create('alice');
  const stolen = issued.refreshToken;
  let owner = issued;
  for (let i = 0; i < 5; i++) owner = await h.manager.update(owner.refreshToken);
  await rejectsWith(h.manager.update(stolen), 'ERR_REFRESH_TOKEN_REUSED');
  await rejectsWith(h.manager.update(owner.refreshToken), 'ERR_REFRESH_TOKEN_INVALID');
  await rejectsWith(h.manager.read(owner.accessToken), 'ERR_SESSION_REVOKED');
  await h.close();
});

S('the thief refreshing first is caught when the owner comes back', async () => {
  const h = harness();
  const issued = await h.manager.create('alice');
  const thief = await h.manager.update(issued.refreshToken);
  await rejectsWith(h.manager.update(issued.refreshToken), 'ERR_REFRESH_TOKEN_REUSED');
  await rejectsWith(h.manager.read(thief.accessToken), 'ERR_SESSION_REVOKED');
  await h.close();
});

S('storage failures surface as ERR_STORAGE_UNAVAILABLE and leave nothing half-written', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  const broken = new Error('backend down');
  const failing = {
    insert: async () => Promise.reject(broken),
    settleInsert: async () => Promise.reject(broken),
    rotate: async () => Promise.reject(broken),
    get: async () => Promise.reject(broken),
    list: async () => Promise.reject(broken),
    delete: async () => Promise.reject(broken),
    deleteAll: async () => Promise.reject(broken),
  };
  const down = harness({ refreshTokenStore: failing });
  const errors = await Promise.all([
    rejectsWith(down.manager.create('alice'), 'ERR_STORAGE_UNAVAILABLE'),
    rejectsWith(down.manager.update(t.refreshToken), 'ERR_STORAGE_UNAVAILABLE'),
    rejectsWith(down.manager.readAll('alice'), 'ERR_STORAGE_UNAVAILABLE'),
    rejectsWith(down.manager.deleteOne('alice', t.sessionId), 'ERR_STORAGE_UNAVAILABLE'),
    rejectsWith(down.manager.deleteAll('alice'), 'ERR_STORAGE_UNAVAILABLE'),
  ]);
  for (const error of errors) assert.is(error.cause, broken);
  // read() needs no storage at all.
  const reader = harness({ refreshTokenStore: failing });
  await reader.manager.read(t.accessToken);
  await Promise.all([h.close(), down.close(), reader.close()]);
});

S.run();

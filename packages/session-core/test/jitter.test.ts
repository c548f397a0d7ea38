import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError } from '../src/index.js';
import { harness, type Harness } from './helpers.js';

/*
 * Issue 22: access-token lifetimes with an optional jitter, only ever
 * shorter. Observed through create() / update() and read(): the lifetime is
 * exp - iat of the token itself.
 */
const S = suite('access-token lifetime jitter');
const open: Harness[] = [];
const track = (h: Harness) => (open.push(h), h);
S.after.each(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function lifetimes(h: Harness, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = await h.manager.create(`user-${i}`);
    const claims = await h.manager.read(t.accessToken);
    assert.is(t.accessTokenExpiresAt, claims.exp, 'accessTokenExpiresAt is the token’s exp');
    out.push(claims.exp - claims.iat);
    const next = await h.manager.update(t.refreshToken);
    const c2 = await h.manager.read(next.accessToken);
    out.push(c2.exp - c2.iat);
  }
  return out;
}

S('0.05 of 900 s: every lifetime from 855 to 900 s, never longer, and spread over the window', async () => {
  const h = track(harness({ accessTokenTtl: 900, accessTokenTtlJitter: 0.05 }));
  const ttls = await lifetimes(h, 300);
  assert.ok(ttls.every((t) => t >= 855 && t <= 900), `out of [855, 900]: ${ttls.filter((t) => t < 855 || t > 900).join()}`);
  // 600 draws over 46 values: every value would be seen ~13 times; fewer than 30 distinct means no real spread.
  assert.ok(new Set(ttls).size >= 30, `only ${new Set(ttls).size} distinct lifetimes`);
  assert.ok(Math.min(...ttls) <= 860 && Math.max(...ttls) >= 895, `window not covered: ${Math.min(...ttls)}–${Math.max(...ttls)}`);
});

S('off by default (and at 0): every lifetime is exactly accessTokenTtl', async () => {
  for (const options of [{ accessTokenTtl: 900 }, { accessTokenTtl: 900, accessTokenTtlJitter: 0 }]) {
    const ttls = await lifetimes(track(harness(options)), 50);
    assert.equal([...new Set(ttls)], [900]);
  }
});

S('a short lifetime: 0.1 of 5 s takes off at most 0 s (whole seconds, floored); of 30 s at most 3 s', async () => {
  assert.equal([...new Set(await lifetimes(track(harness({ accessTokenTtl: 5, accessTokenTtlJitter: 0.1 })), 40))], [5]);
  const ttls = await lifetimes(track(harness({ accessTokenTtl: 30, accessTokenTtlJitter: 0.1 })), 100);
  assert.ok(ttls.every((t) => t >= 27 && t <= 30));
  assert.is(new Set(ttls).size, 4);
});

S('a token never outlives its session, jitter or not', async () => {
  const h = track(harness({ accessTokenTtl: 900, accessTokenTtlJitter: 0.1, refreshTokenTtl: 600 }));
  const t = await h.manager.create('alice');
  assert.ok(t.accessTokenExpiresAt <= t.refreshTokenExpiresAt);
});

S('accessTokenTtlJitter is checked at construction, naming the option', () => {
  for (const bad of [-0.01, 0.11, 1, Number.NaN, Infinity, '0.05', null]) {
    try {
      harness({ accessTokenTtlJitter: bad as never });
      assert.unreachable(String(bad));
    } catch (error) {
      assert.instance(error, SessionError);
      assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as SessionError).message, /options\.accessTokenTtlJitter must be a fraction from 0 to 0\.1/);
    }
  }
  track(harness({ accessTokenTtlJitter: 0.1 }));
});

S.run();

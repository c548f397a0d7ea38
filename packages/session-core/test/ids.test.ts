import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isSessionIdOf, newSessionId, newTokenId, sessionHashTag, sessionSubjectDigest, subjectDigest, subjectHashTag, tokenIdTime } from '../src/lib/ids.js';
import { VerifiedTokenCache } from '../src/lib/verified-cache.js';

const S = suite('ids and the verified-token cache');

S('session and token ids stay unique and well-formed across many pool refills', () => {
  const seen = new Set<string>();
  const now = Date.now();
  for (let i = 0; i < 20_000; i++) {
    const sid = newSessionId('alice');
    const jti = newTokenId(now + i);
    assert.match(sid, /^[A-Za-z0-9_-]{26}$/);
    assert.is(sessionHashTag(sid), subjectHashTag('alice'));
    assert.is(sessionSubjectDigest(sid), subjectDigest('alice'));
    assert.is(tokenIdTime(jti), now + i);
    seen.add(sid).add(jti);
  }
  assert.is(seen.size, 40_000);
  assert.ok(Number.isNaN(tokenIdTime('short')));
});

// The Redis store keeps a subject's sessions under one key named by this digest and finds it from a session id alone.
S('a session id starts with its subject\'s 11-character digest; isSessionIdOf tells its subject from others', () => {
  const sid = newSessionId('alice');
  assert.is(subjectDigest('alice').length, 11);
  assert.ok(sid.startsWith(subjectDigest('alice')));
  assert.ok(subjectDigest('alice').startsWith(subjectHashTag('alice')));
  assert.ok(isSessionIdOf(sid, 'alice'));
  assert.not.ok(isSessionIdOf(sid, 'bob'));
  assert.not.ok(isSessionIdOf(sid.slice(1), 'alice'));
  assert.not.ok(isSessionIdOf(`${sid.slice(0, 25)}!`, 'alice'));
  // 15 random characters after the digest: two ids of one subject differ there.
  assert.is.not(newSessionId('alice').slice(11), sid.slice(11));
});

S('the cache stays bounded under churn and evicts oldest first', () => {
  const cache = new VerifiedTokenCache(1000);
  const entry = (i: number) => ({ token: `header.payload.signature-${i.toString(36).padStart(8, '0')}`, claims: {} as never, validUntil: Infinity });
  for (let i = 0; i < 50_000; i++) cache.set(entry(i));
  assert.ok(cache.size <= 1000);
  assert.ok(cache.get(entry(49_999).token, 0));
  assert.is(cache.get(entry(0).token, 0), undefined);
  cache.clear();
  assert.is(cache.size, 0);
  cache.set(entry(1));
  assert.ok(cache.get(entry(1).token, 0));
});

S('offer() admits a token on its second verification only', () => {
  const cache = new VerifiedTokenCache(10);
  const entry = { token: 'header.payload.signature-abcdefgh', claims: {} as never, validUntil: Infinity };
  cache.offer(entry);
  assert.is(cache.get(entry.token, 0), undefined, 'admitted on first sight');
  cache.offer(entry);
  assert.ok(cache.get(entry.token, 0));
  const off = new VerifiedTokenCache(0);
  off.offer(entry);
  off.offer(entry);
  assert.is(off.size, 0);
});

S('the doorkeeper rarely admits a token seen once: under 2 % of new tokens after 100,000 others (the default size)', () => {
  const cache = new VerifiedTokenCache(100_000);
  // Signatures as genuine ones are: random base64url.
  const token = () => `h.p.${randomBytes(32).toString('base64url')}`;
  for (let i = 0; i < 100_000; i++) cache.offer({ token: token(), claims: {} as never, validUntil: Infinity });
  const filling = cache.size;
  assert.ok(filling < 1000, `${filling} of 100,000 admitted on first sight while the filter filled`);
  for (let i = 0; i < 20_000; i++) cache.offer({ token: token(), claims: {} as never, validUntil: Infinity });
  assert.ok(cache.size - filling < 400, `${cache.size - filling} of 20,000 admitted on first sight`);
});

S('a working set as large as the cache, revisited in turn, is admitted: the doorkeeper clears less often than that', () => {
  for (const size of [1000, 300_000]) {
    const cache = new VerifiedTokenCache(size);
    const tokens = Array.from({ length: size }, () => `h.p.${randomBytes(32).toString('base64url')}`);
    for (let pass = 0; pass < 3; pass++) for (const token of tokens) if (!cache.get(token, 0)) cache.offer({ token, claims: {} as never, validUntil: Infinity });
    // Slots can collide (a hit needs the same slot): nearly all, not all.
    assert.ok(cache.size > size * 0.95, `${cache.size} of ${size} cached after three passes`);
  }
});

S('the doorkeeper resets before it saturates', () => {
  const cache = new VerifiedTokenCache(10);
  for (let i = 0; i < 600_000; i++) cache.offer({ token: `h.p.${i.toString(36).padStart(8, '0')}`, claims: {} as never, validUntil: Infinity });
  assert.ok(cache.size <= 10);
});

S.run();

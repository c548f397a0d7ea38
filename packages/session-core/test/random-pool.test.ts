import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fillRandom, randomBase64url } from '../src/lib/random-pool.js';

const S = suite('random pool');

S('every draw is fresh, across pool refills, whichever way it is taken', () => {
  const seen = new Set<string>();
  // 4096-byte pool: 600 draws of 16 + 32 bytes refill it several times, at offsets that do not divide it.
  for (let i = 0; i < 600; i++) {
    const text = randomBase64url(32);
    assert.is(Buffer.from(text, 'base64url').length, 32);
    const bytes = Buffer.alloc(18);
    fillRandom(bytes, 2, 16);
    assert.is(bytes.readUInt16BE(0), 0, 'nothing written before `at`');
    for (const value of [text, bytes.subarray(2).toString('hex')]) {
      assert.not.ok(seen.has(value));
      seen.add(value);
    }
  }
});

S.run();

import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBase64urlInto } from '../src/lib/jws/base64url.js';

const S = suite('lib/jws/base64url: the verification path decoder');

S('decodes what Buffer encodes, every length from 0 to 300 bytes', () => {
  const out = new Uint8Array(400);
  for (let length = 0; length <= 300; length++) {
    const bytes = randomBytes(length);
    const written = decodeBase64urlInto(bytes.toString('base64url'), out);
    assert.is(written, length);
    assert.ok(Buffer.from(out.subarray(0, written)).equals(bytes), `${length} bytes`);
  }
});

S('refuses what is not canonical unpadded base64url, and what does not fit', () => {
  const out = new Uint8Array(64);
  // A length of 4n + 1, padding, characters of base64 (not url), a space, one past ASCII, bits set past the last byte.
  for (const bad of ['A', 'AAAAA', 'QQ==', 'a+b/', 'ab c', 'ab\u0141c', 'QR', 'QUJ']) assert.is(decodeBase64urlInto(bad, out), -1, JSON.stringify(bad));
  assert.is(decodeBase64urlInto('QQ', out), 1);
  assert.is(decodeBase64urlInto('QUI', out), 2);
  assert.is(decodeBase64urlInto(randomBytes(64).toString('base64url'), out), 64);
  assert.is(decodeBase64urlInto(randomBytes(65).toString('base64url'), out), -1);
});

S.run();

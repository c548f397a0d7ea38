import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ASCII_COMPARE, asciiEqual } from '../src/lib/ascii-equal.js';

const S = suite('lib/ascii-equal: constant-time text compare');

S('equal ASCII text of every length up to the maximum is equal; one other character is not', () => {
  for (let length = 0; length <= MAX_ASCII_COMPARE; length++) {
    const text = 'x'.repeat(length);
    assert.ok(asciiEqual(`${text}`, text), `length ${length}`);
    if (length > 0) assert.not.ok(asciiEqual(`${text.slice(1)}y`, text), `length ${length}, last differs`);
  }
});

S('other lengths, longer than the maximum, and characters past ASCII never compare equal', () => {
  assert.not.ok(asciiEqual('abc', 'abcd'));
  assert.not.ok(asciiEqual('abcd', 'abc'));
  const long = 'a'.repeat(MAX_ASCII_COMPARE + 1);
  assert.not.ok(asciiEqual(long, long));
  // Each keeps 'A' (0x41) or 'a' in its low byte, so a latin1 write would alias them.
  for (const c of ['\u0141', '\u0241', '\uff41', '\u00c1']) assert.not.ok(asciiEqual(`xy${c}`, 'xyA'.replace('A', c === '\uff41' ? 'a' : 'A')), `U+${c.charCodeAt(0).toString(16)}`);
  // Two characters in three bytes of UTF-8 where three were expected: the write stops short, and stale bytes from an earlier compare must not count.
  assert.ok(asciiEqual('abc', 'abc'));
  assert.not.ok(asciiEqual('\u0141c', 'Ac'));
  assert.not.ok(asciiEqual('a\u0141', 'ab'));
});

S.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DpopNonces } from '../src/index.js';
import { refused } from './dpop-helpers.js';

/*
 * Stateless server nonces (RFC 9449 §8, §9): any node with the secret checks
 * any node's nonce; a nonce lives for its window and the next one.
 */
const S = suite('DpopNonces');
const SECRET = 'nonce-secret-0123456789abcdef0123456789';
const WINDOW = 300_000;
/** The start of a window, so tests step across boundaries exactly. */
const START = Math.ceil(1_800_000_000_000 / WINDOW) * WINDOW;

function node(clock: { now: number }, secret: DpopNoncesSecret = SECRET) {
  return new DpopNonces({ secret, clock: () => clock.now });
}
type DpopNoncesSecret = ConstructorParameters<typeof DpopNonces>[0]['secret'];

S('two nodes sharing the secret issue the same nonce and accept each other’s', () => {
  const clock = { now: START + 1234 };
  const a = node(clock);
  const b = node(clock);
  assert.is(a.current(), b.current());
  assert.ok(b.check(a.current()));
  assert.ok(a.check(b.current()));
  // The value is header-safe (RFC 9449 §8: NQCHAR) and short.
  assert.match(a.current(), /^[!#-[\]-~]{1,40}$/);
});

S('a nonce is accepted in its window and the next, refused after', () => {
  const clock = { now: START };
  const a = node(clock);
  const b = node(clock);
  const issued = a.current();
  clock.now = START + WINDOW - 1;
  assert.ok(b.check(issued), 'end of its window');
  assert.is(a.current(), issued);
  clock.now = START + WINDOW; // rotation
  assert.is.not(a.current(), issued);
  assert.ok(b.check(issued), 'the next window still accepts it');
  assert.ok(b.check(a.current()));
  clock.now = START + 2 * WINDOW;
  assert.not.ok(b.check(issued), 'two windows on');
  assert.not.ok(a.check(issued));
});

S('a nonce from a window ahead of this node is refused (only the current and previous windows are accepted)', () => {
  for (const windows of [1, 2]) {
    const clock = { now: START + windows * WINDOW };
    const ahead = node(clock).current();
    clock.now = START;
    assert.not.ok(node(clock).check(ahead), `${windows} window(s) ahead`);
  }
});

S('another secret, or a tampered nonce, is refused', () => {
  const clock = { now: START };
  const a = node(clock);
  const other = node(clock, 'another-secret-0123456789abcdef012345');
  assert.not.ok(other.check(a.current()));
  const [window, mac] = a.current().split('.') as [string, string];
  const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
  for (const value of [`${window}.${flipped}`, `${(Number.parseInt(window, 36) - 1).toString(36)}.${mac}`, `${window}.${mac}x`, `${window}${mac}`, '', 'x'.repeat(10_000), undefined, 42, {}]) {
    assert.not.ok(a.check(value), String(value).slice(0, 40));
  }
});

S('rotating the secret: the first issues, every one listed is accepted', () => {
  const clock = { now: START };
  const old = node(clock, SECRET);
  const rotated = node(clock, ['new-secret-0123456789abcdef0123456789', SECRET]);
  assert.ok(rotated.check(old.current()), 'a nonce under the old secret');
  assert.is.not(rotated.current(), old.current());
  assert.not.ok(old.check(rotated.current()), 'a node not yet rotated refuses the new secret');
  assert.ok(node(clock, ['new-secret-0123456789abcdef0123456789']).check(rotated.current()));
});

S('bad options are configuration errors', () => {
  for (const options of [
    undefined,
    {},
    { secret: 'short' },
    { secret: [] },
    { secret: [SECRET, 'short'] },
    { secret: 42 },
    { secret: SECRET, window: 0 },
    { secret: SECRET, window: Number.NaN },
    { secret: SECRET, clock: 'now' },
  ]) {
    refused(() => new DpopNonces(options as never), 'ERR_CONFIG_INVALID');
  }
  assert.ok(new DpopNonces({ secret: new Uint8Array(32).fill(7), window: 60 }).check(new DpopNonces({ secret: new Uint8Array(32).fill(7), window: 60 }).current()));
});

S.run();

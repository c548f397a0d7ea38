import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionError } from '../src/index.js';
import { harness, prng } from './helpers.js';

/*
 * Random inputs and random mutations of valid tokens: read() accepts a token
 * only when it is byte-identical to one it issued, and never throws anything
 * but a SessionError. Seeded, so a failure reproduces.
 */
const S = suite('read(): property tests');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\u0000é{}"';

async function outcome(read: () => Promise<unknown>): Promise<'accepted' | 'rejected'> {
  try {
    await read();
    return 'accepted';
  } catch (error) {
    if (!(error instanceof SessionError)) throw new Error(`read() threw a non-SessionError: ${String(error)}`);
    return 'rejected';
  }
}

S('random strings are never accepted', async () => {
  const h = harness();
  const rand = prng(0xc0ffee);
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(rand() * 400);
    let s = '';
    for (let j = 0; j < length; j++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
    if (rand() < 0.3) s = `${s.slice(0, length / 3)}.${s.slice(length / 3, (2 * length) / 3)}.${s.slice((2 * length) / 3)}`;
    assert.is(await outcome(() => h.manager.read(s)), 'rejected', JSON.stringify(s));
  }
  await h.close();
});

S('mutated valid tokens are accepted only when byte-identical', async () => {
  const h = harness();
  const rand = prng(0x5eed);
  const valid = await Promise.all([h.manager.create('alice'), h.manager.create('bob', { claims: { roles: ['x'] } })]);
  const issued = new Set(valid.map((t) => t.accessToken));
  const pick = (s: string) => Math.floor(rand() * s.length);
  const char = () => ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    let token = valid[i % valid.length]!.accessToken;
    const edits = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < edits; e++) {
      const at = pick(token);
      switch (Math.floor(rand() * 5)) {
        case 0:
          token = token.slice(0, at) + char() + token.slice(at + 1);
          break;
        case 1:
          token = token.slice(0, at) + char() + token.slice(at);
          break;
        case 2:
          token = token.slice(0, at) + token.slice(at + 1);
          break;
        case 3: {
          const other = pick(token);
          const chars = [...token];
          [chars[at], chars[other]] = [chars[other]!, chars[at]!];
          token = chars.join('');
          break;
        }
        default:
          token = token.slice(0, at) + valid[(i + 1) % valid.length]!.accessToken.slice(at);
      }
    }
    const result = await outcome(() => h.manager.read(token));
    if (result === 'accepted') {
      accepted++;
      assert.ok(issued.has(token), `accepted a token that was not issued: ${token}`);
    }
  }
  for (const t of valid) assert.is(await outcome(() => h.manager.read(t.accessToken)), 'accepted');
  assert.ok(accepted < 3000);
  await h.close();
});

S.run();

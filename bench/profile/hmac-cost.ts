/**
 * What one HMAC-SHA-256 of a refresh-mac-sized message costs through each way
 * node:crypto offers, beside a one-shot SHA-256: the figures behind the
 * README's explanation of row 4b. The two HMACs built by hand from SHA-256
 * (RFC 2104 over `crypto.hash`, and over `Hash.copy()` of the padded key
 * states) are measured only, never used: they are checked against createHmac
 * first. The message is a new string each call in the library, so it is
 * encoded on every call here too. Run: node --import tsx bench/profile/hmac-cost.ts
 */
import { createHash, createHmac, hash, pbkdf2Sync, randomBytes } from 'node:crypto';

const key = randomBytes(32);
const message = `jwt-session/refresh-mac/v1\0${'A'.repeat(26)}\0${'t5x9kq'}\0${'B'.repeat(43)}`;
const ipad = Buffer.alloc(64, 0x36);
const opad = Buffer.alloc(64, 0x5c);
for (let i = 0; i < key.length; i++) {
  ipad[i]! ^= key[i]!;
  opad[i]! ^= key[i]!;
}
const inner = createHash('sha256').update(ipad);
const outer = createHash('sha256').update(opad);

const ways: Record<string, () => unknown> = {
  'createHmac, whole': () => createHmac('sha256', key).update(message, 'utf8').digest('base64url'),
  'createHmac, constructor only': () => createHmac('sha256', key),
  'by hand: two crypto.hash': () => hash('sha256', Buffer.concat([opad, hash('sha256', Buffer.concat([ipad, Buffer.from(message, 'utf8')]), 'buffer')]), 'base64url'),
  'by hand: Hash.copy()': () => outer.copy().update(inner.copy().update(message, 'utf8').digest()).digest('base64url'),
  'pbkdf2Sync, 1 iteration': () => pbkdf2Sync(key, message, 1, 32, 'sha256'),
  'one-shot SHA-256 (no key)': () => hash('sha256', message, 'base64url'),
};

const expected = createHmac('sha256', key).update(message).digest('base64url');
for (const name of ['by hand: two crypto.hash', 'by hand: Hash.copy()']) {
  if (ways[name]!() !== expected) throw new Error(`${name} is not HMAC-SHA-256`);
}

const N = 200_000;
const ns = (f: () => unknown): number => {
  for (let i = 0; i < 20_000; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Number(process.hrtime.bigint() - t0) / N;
};
const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
for (let round = 0; round < 3; round++) for (const [name, f] of Object.entries(ways)) rounds[name]!.push(ns(f));
for (const [name, values] of Object.entries(rounds)) console.log(`${name.padEnd(30)} ${values.map((v) => `${(v / 1000).toFixed(2)} µs`).join(' / ')}`);

import fc from 'fast-check';
import type { SessionRecord } from '@jwt-session/session-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, encode, peek } from '../src/record-codec.js';

const S = suite('storage-memory record codec');

const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<never>;
const record: fc.Arbitrary<SessionRecord> = fc.record({
  sessionId: fc.constant('AAAAsessionidsessionidsess'),
  subject: fc.string({ minLength: 1, unit: 'binary' }),
  tokenHash: fc.base64String({ minLength: 1 }),
  previousTokenHash: fc.option(fc.base64String({ minLength: 1 }), { nil: undefined }),
  generation: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.nat(), fc.maxSafeNat()),
  createdAt: fc.double(),
  lastRefreshedAt: fc.double(),
  rotatedAt: fc.oneof(fc.integer(), fc.maxSafeInteger()),
  expiresAt: fc.double(),
  idleExpiresAt: fc.option(fc.double(), { nil: undefined }),
  claims: fc.dictionary(fc.string(), json),
  context: fc.dictionary(fc.string(), json),
});

// Guards defect #10.1: numbers were written in base 36 behind a 'd' marker, which is also the base-36 digit 13, so generation 13 read back as 0.
S('generation 13 (and every small count) reads back unchanged', () => {
  for (let generation = 0; generation <= 1000; generation++) {
    const rec: SessionRecord = {
      sessionId: 'AAAAsessionidsessionidsess', subject: 'alice', tokenHash: 'h', generation,
      createdAt: 1, lastRefreshedAt: 1, rotatedAt: 1, expiresAt: 2, claims: {}, context: {},
    };
    assert.is(decode(rec.sessionId, encode(rec, 5)).record.generation, generation);
  }
});

// Guards defect #10.1 in general: every field, every number the type allows (integers, doubles, -0, infinities, NaN).
S('property: encode → decode is the identity on every field and the due time', () => {
  fc.assert(
    fc.property(record, fc.double(), (rec, due) => {
      const back = decode(rec.sessionId, encode(rec, due));
      const expected = JSON.parse(JSON.stringify({ claims: rec.claims, context: rec.context })) as object;
      assert.equal({ claims: back.record.claims, context: back.record.context }, expected);
      for (const key of ['subject', 'tokenHash', 'previousTokenHash', 'generation', 'createdAt', 'lastRefreshedAt', 'rotatedAt', 'expiresAt', 'idleExpiresAt'] as const) {
        assert.ok(Object.is(back.record[key], rec[key]), `${key}: ${String(rec[key])} read back as ${String(back.record[key])}`);
      }
      assert.ok(Object.is(back.due, due));
      const peeked = peek(encode(rec, due));
      assert.ok(Object.is(peeked.due, due));
      assert.is(peeked.subject, rec.subject);
    }),
    { numRuns: 2000 },
  );
});

S.run();

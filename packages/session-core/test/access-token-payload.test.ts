import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accessTokenPayload, accessTokenPayloadJson, type RegisteredClaims } from '../src/lib/access-token-payload.js';

const S = suite('access-token payload: written as text, equal to the spread object');

const registered: fc.Arbitrary<RegisteredClaims> = fc.record({
  iss: fc.string({ unit: 'binary' }),
  aud: fc.oneof(fc.string(), fc.array(fc.string())),
  sub: fc.string({ unit: 'binary' }),
  sid: fc.string(),
  jti: fc.string(),
  iat: fc.oneof(fc.integer(), fc.double()),
  exp: fc.oneof(fc.integer(), fc.double()),
});
// Names include the registered ones, integer-like ones (enumerated first) and __proto__.
const name = fc.oneof(fc.string(), fc.constantFrom('iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', '__proto__', '0', '7', 'toJSON', 'roles'));
const claims = fc.dictionary(name, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), { maxKeys: 6 }) as fc.Arbitrary<Record<string, unknown>>;

S('property: the text is JSON.stringify({ ...claims, iss, aud, sub, sid, jti, iat, exp })', () => {
  fc.assert(
    fc.property(claims, registered, (c, r) => {
      const spread = { ...c, iss: r.iss, aud: r.aud, sub: r.sub, sid: r.sid, jti: r.jti, iat: r.iat, exp: r.exp };
      assert.is(accessTokenPayloadJson(c, r), JSON.stringify(spread));
      assert.is(JSON.stringify(accessTokenPayload(c, r)), JSON.stringify(spread));
    }),
    { numRuns: 3000 },
  );
});

S('a claim named like a registered one keeps its place and takes the registered value, as in the spread', () => {
  const r: RegisteredClaims = { iss: 'i', aud: 'a', sub: 's', sid: 'd', jti: 'j', iat: 1, exp: 2 };
  assert.is(accessTokenPayloadJson({ sub: 'x', roles: ['user'] }, r), '{"sub":"s","roles":["user"],"iss":"i","aud":"a","sid":"d","jti":"j","iat":1,"exp":2}');
  const proto = JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown>;
  const payload = accessTokenPayload(proto, r);
  assert.ok(Object.hasOwn(payload, '__proto__'), '__proto__ stays an own claim');
  assert.is(Object.getPrototypeOf(payload), Object.prototype);
  assert.is(accessTokenPayloadJson(proto, r), '{"__proto__":{"admin":true},"iss":"i","aud":"a","sub":"s","sid":"d","jti":"j","iat":1,"exp":2}');
});

S.run();

import fc from 'fast-check';
import { cook, fuzzer, recipe, type Recipe } from '@jwt-session/fuzz-kit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionVerifier, SESSION_CREATED, isSessionError, parseInvalidationEvent, sessionHashTag, storeInput, subjectHashTag, type JwtUserSessionManager } from '../src/index.js';
import { hostileValues, probe } from '../src/testing/index.js';
import { AUDIENCE, ISSUER, SECRET, harness } from './helpers.js';
import { ReferenceInvalidAccessTokenCache } from './reference-storage.js';

/*
 * Guards defect #10.11: bad input at public methods ended in a raw TypeError
 * (create('u', null), isRevoked(null), objects with throwing getters). Every
 * public method of the manager, fed anything, answers with success or a coded
 * SessionError, never holds the event loop for more than 50 ms of CPU, and a
 * valid session works afterwards.
 */
const S = suite('fuzz: every public method of the manager');

const input = (): fc.Arbitrary<Recipe> => recipe({ hostileValues, probe });
const make = (r: Recipe): unknown => cook({ hostileValues, probe }, r);
const fuzz = fuzzer({ hostileValues, probe }, 100);

async function stillWorks(m: JwtUserSessionManager): Promise<void> {
  const t = await m.create('fuzz-check', { claims: { ok: true }, context: { ip: '192.0.2.1' } });
  assert.is((await m.read(t.accessToken)).sub, 'fuzz-check');
  const next = await m.update(t.refreshToken);
  assert.is((await m.readAll('fuzz-check')).length, 1);
  assert.is(await m.deleteOne('fuzz-check', next.sessionId), true);
}

S('create, read, readAll, update, deleteOne, deleteAll, isRevoked, on and off with anything', async () => {
  const h = harness();
  const m = h.manager;
  const t = await m.create('alice');
  const calls: Array<[string, (a: unknown, b: unknown) => unknown]> = [
    ['create', (a, b) => m.create(a as never, b as never)],
    ['read', (a) => m.read(a as never)],
    ['readAll', (a) => m.readAll(a as never)],
    ['update', (a, b) => m.update(a as never, b as never)],
    ['update (real token)', (_a, b) => m.update(t.refreshToken, b as never)],
    ['deleteOne', (a, b) => m.deleteOne(a as never, b as never)],
    ['deleteAll', (a) => m.deleteAll(a as never)],
    ['isRevoked', (a) => m.isRevoked(a as never)],
    ['on', (a, b) => m.on(a as never, b as never)],
    ['off', (a, b) => m.off(a as never, b as never)],
  ];
  for (const [name, call] of calls) await fuzz(name, call);
  await stillWorks(m);
  await h.close();
});

S('create and update with options objects of hostile shape', async () => {
  const h = harness();
  let created = 0;
  h.manager.on(SESSION_CREATED, () => created++);
  const options = fc.record({ claims: input(), context: input() }, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), options, async (subject, o) => {
      const built = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, make(v as Recipe)]));
      await probe(() => h.manager.create(subject, built as never));
    }),
    { numRuns: 300, seed: 10_11 },
  );
  assert.ok(created > 0, 'no options object was ever accepted: the generator is broken');
  await stillWorks(h.manager);
  await h.close();
});

S('constructors, and JwtSessionVerifier read and isRevoked, with anything', async () => {
  const h = harness();
  const t = await h.manager.create('alice');
  const cache = new ReferenceInvalidAccessTokenCache();
  const verifier = new JwtSessionVerifier({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, invalidAccessTokenCache: cache });
  const calls: Array<[string, (a: unknown) => unknown]> = [
    ['new JwtUserSessionManager', (a) => new (h.manager.constructor as new (o: unknown) => unknown)(a)],
    ['new JwtSessionVerifier', (a) => new JwtSessionVerifier(a as never)],
    ['read', (a) => verifier.read(a as never)],
    ['isRevoked', (a) => verifier.isRevoked(a as never)],
  ];
  for (const [name, call] of calls) await fuzz(name, call);
  assert.is((await verifier.read(t.accessToken)).sub, 'alice');
  await verifier.close();
  await h.close();
});

S('the exported functions: hash tags, parseInvalidationEvent, isSessionError, storeInput', async () => {
  const fns: Array<[string, (a: unknown, b: unknown) => unknown]> = [
    ['subjectHashTag', (a) => subjectHashTag(a as never)],
    ['sessionHashTag', (a) => sessionHashTag(a as never)],
    ['parseInvalidationEvent', (a) => parseInvalidationEvent(a)],
    ['isSessionError', (a, b) => isSessionError(a, b as never)],
    ...Object.entries(storeInput).map(([name, fn]) => [`storeInput.${name}`, (a: unknown, b: unknown) => (fn as (x: unknown, y: unknown) => unknown)(a, b)] as [string, (a: unknown, b: unknown) => unknown]),
  ];
  for (const [name, call] of fns) await fuzz(name, call);
});

S.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CLAIMS_BYTES, RESERVED_CLAIMS } from '../src/index.js';
import { rejectsWith } from '../src/testing/index.js';
import { harness } from './helpers.js';

const S = suite('caller claims, context and subjects');

S('caller claims ride in the token; registered and library claims cannot be overwritten', async () => {
  const h = harness();
  const t = await h.manager.create('alice', { claims: { roles: ['admin'], permissions: ['read'], tenant: { id: 7, name: 'Ünïcode ✓' } } });
  const claims = await h.manager.read(t.accessToken);
  assert.equal(claims.roles, ['admin']);
  assert.equal(claims.tenant, { id: 7, name: 'Ünïcode ✓' });
  for (const name of RESERVED_CLAIMS) {
    await rejectsWith(h.manager.create('alice', { claims: { [name]: 'x' } }), 'ERR_CLAIMS_INVALID', name);
    await rejectsWith(h.manager.update(t.refreshToken, { claims: { [name]: 'x' } }), 'ERR_CLAIMS_INVALID', name);
  }
  await h.close();
});

S('claims must be plain JSON within the size limit', async () => {
  const h = harness();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 20; i++) deep = { deep };
  const bad: unknown[] = [[], 'x', 42, new Date(), new Map(), { f: () => 1 }, { n: Number.NaN }, { n: Infinity }, { b: 1n }, { s: Symbol('x') }, { d: new Date() }, cyclic, deep, { big: 'x'.repeat(MAX_CLAIMS_BYTES) }];
  for (const claims of bad) await rejectsWith(h.manager.create('alice', { claims: claims as never }), 'ERR_CLAIMS_INVALID');
  await h.manager.create('alice', { claims: Object.assign(Object.create(null), { ok: true, skip: undefined }) });
  await h.close();
});

S('context is JSON, its well-known fields are strings, and it is stored as given', async () => {
  const h = harness();
  await rejectsWith(h.manager.create('alice', { context: { ip: 42 } as never }), 'ERR_CLAIMS_INVALID');
  await rejectsWith(h.manager.create('alice', { context: { userAgent: ['x'] } as never }), 'ERR_CLAIMS_INVALID');
  await rejectsWith(h.manager.create('alice', { context: 'x' as never }), 'ERR_CLAIMS_INVALID');
  const context = { ip: '2001:db8::1', userAgent: 'Mozilla/5.0', device: 'Laptop', location: 'Zürich', app: { version: 3 } };
  const t = await h.manager.create('alice', { context });
  context.ip = 'mutated after the call';
  assert.equal((await h.manager.readAll('alice'))[0]!.context, { ip: '2001:db8::1', userAgent: 'Mozilla/5.0', device: 'Laptop', location: 'Zürich', app: { version: 3 } });
  await h.manager.update(t.refreshToken, { context: { ip: '192.0.2.9' }, claims: { roles: ['user'] } });
  const [info] = await h.manager.readAll('alice');
  assert.is(info!.context.ip, '192.0.2.9');
  assert.is(info!.context.device, 'Laptop');
  await h.close();
});

S('updated claims appear in the next access token', async () => {
  const h = harness();
  const t = await h.manager.create('alice', { claims: { roles: ['user'] } });
  const next = await h.manager.update(t.refreshToken, { claims: { roles: ['admin'] } });
  assert.equal((await h.manager.read(next.accessToken)).roles, ['admin']);
  const same = await h.manager.update(next.refreshToken);
  assert.equal((await h.manager.read(same.accessToken)).roles, ['admin']);
  await h.close();
});

S('subjects must be non-empty strings of bounded length', async () => {
  const h = harness();
  for (const subject of ['', 'x'.repeat(1025), 42, null, undefined, {}]) {
    await rejectsWith(h.manager.create(subject as never), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.readAll(subject as never), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.deleteOne(subject as never, 'x'), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.deleteAll(subject as never), 'ERR_CLAIMS_INVALID');
  }
  const t = await h.manager.create('ユーザー:{tag}\n*?');
  assert.is((await h.manager.read(t.accessToken)).sub, 'ユーザー:{tag}\n*?');
  await h.close();
});

S('returned claims are frozen, so one caller cannot change what another reads', async () => {
  const h = harness();
  const t = await h.manager.create('alice', { claims: { roles: ['user'] } });
  const claims = await h.manager.read(t.accessToken);
  assert.ok(Object.isFrozen(claims));
  assert.ok(Object.isFrozen(claims.roles));
  assert.throws(() => {
    (claims.roles as string[]).push('admin');
  });
  assert.equal((await h.manager.read(t.accessToken)).roles, ['user']);
  await h.close();
});

// Guards defect #10.10: Redis stores a lone surrogate as U+FFFD, so "eve\uD800" and "eve\uFFFD" shared an index and a deleteAll of one missed the other's tokens.
S('subjects, claim names and values, and context that are not well-formed Unicode are refused', async () => {
  const h = harness();
  const lone = ['eve\uD800', '\uDC00eve', 'a\uDBFFb', '\uD800\uD800'];
  for (const bad of lone) {
    await rejectsWith(h.manager.create(bad), 'ERR_CLAIMS_INVALID', `subject ${JSON.stringify(bad)}`);
    await rejectsWith(h.manager.readAll(bad), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.deleteAll(bad), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.deleteOne(bad, 'AAAAsessionidsessionidsess'), 'ERR_CLAIMS_INVALID');
    await rejectsWith(h.manager.create('eve', { claims: { [bad]: 1 } }), 'ERR_CLAIMS_INVALID', 'claim name');
    await rejectsWith(h.manager.create('eve', { claims: { name: bad } }), 'ERR_CLAIMS_INVALID', 'claim value');
    await rejectsWith(h.manager.create('eve', { claims: { nested: [{ deep: [bad] }] } }), 'ERR_CLAIMS_INVALID', 'nested value');
    await rejectsWith(h.manager.create('eve', { context: { userAgent: bad } }), 'ERR_CLAIMS_INVALID', 'context value');
    await rejectsWith(h.manager.create('eve', { context: { [bad]: 'x' } }), 'ERR_CLAIMS_INVALID', 'context name');
  }
  const t = await h.manager.create('eve\uFFFD \u{1F600}', { claims: { emoji: '\u{1F600}' }, context: { device: '\uD83D\uDE00' } });
  await rejectsWith(h.manager.update(t.refreshToken, { claims: { v: 'x\uD800' } }), 'ERR_CLAIMS_INVALID');
  await rejectsWith(h.manager.update(t.refreshToken, { context: { v: 'x\uDFFF' } }), 'ERR_CLAIMS_INVALID');
  assert.is((await h.manager.read(t.accessToken)).sub, 'eve\uFFFD \u{1F600}');
  assert.is((await h.manager.readAll('eve\uFFFD \u{1F600}')).length, 1);
  await h.close();
});

S.run();

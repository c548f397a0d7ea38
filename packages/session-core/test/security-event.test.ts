import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { SignJWT, generateKeyPair } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SecurityEventReceiver, SessionError, SetRefusal, setErrorOf, type SecurityEventReceiverOptions, type SessionTokens } from '../src/index.js';
import { b64, harness, type Harness } from './helpers.js';
import { OidcProvider } from './oidc-provider.js';
import { ReferenceDpopReplayCache } from './reference-storage.js';

/*
 * Issue 26 §3: Shared Signals events pushed as Security Event Tokens (RFC
 * 8417, RFC 8935), each rule refused with its RFC 8935 code, and each event
 * type applied to the sessions its RFC 9493 subject names.
 */

const AUD = 'https://app.example.com';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

interface Ctx {
  idp: OidcProvider;
  h: Harness;
  replay: ReferenceDpopReplayCache;
  receiver: SecurityEventReceiver;
  a: SessionTokens;
  b: SessionTokens;
  other: SessionTokens;
}

const S = suite<Ctx>('Shared Signals: pushed security events (RFC 8417, RFC 8935, RFC 9493)');

const receiverFor = (ctx: Ctx, options: Partial<SecurityEventReceiverOptions> = {}) =>
  new SecurityEventReceiver({ transmitters: [{ issuer: ctx.idp.issuer, audience: AUD, jwksUrl: ctx.idp.jwksUrl }], replayCache: ctx.replay, telemetry: false, ...options });

const issSub = (ctx: Ctx, sub = 'idp-1') => ({ format: 'iss_sub', iss: ctx.idp.issuer, sub });
const set = (ctx: Ctx, events: Record<string, unknown>, claims: Record<string, unknown> = {}, typ: string | null = 'secevent+jwt') =>
  ctx.idp.sign({ aud: AUD, sub: undefined, exp: undefined, events, ...claims }, { typ });

S.before(async (ctx) => {
  ctx.idp = await OidcProvider.start();
});
S.after(async (ctx) => {
  await ctx.idp.stop();
});
S.before.each(async (ctx) => {
  ctx.h = harness();
  ctx.replay = new ReferenceDpopReplayCache();
  ctx.receiver = receiverFor(ctx);
  const up = (sid: string, subject = 'idp-1') => ({ upstream: { issuer: ctx.idp.issuer, subject, sessionId: sid } });
  ctx.a = await ctx.h.manager.create('alice', up('sid-A'));
  ctx.b = await ctx.h.manager.create('alice', up('sid-B'));
  ctx.other = await ctx.h.manager.create('bob', up('sid-C', 'idp-2'));
});
S.after.each(async (ctx) => {
  await ctx.h.close();
});

async function alive(ctx: Ctx, t: SessionTokens): Promise<boolean> {
  return ctx.h.manager.read(t.accessToken).then(
    () => true,
    () => false,
  );
}

async function refused(ctx: Ctx, token: unknown, code: string, reason: string, receiver = ctx.receiver): Promise<void> {
  try {
    await receiver.receive(ctx.h.manager, token);
  } catch (error) {
    assert.is(setErrorOf(error), code, `RFC 8935 code for ${reason}`);
    assert.is((error as SessionError).reason, reason);
    for (const t of [ctx.a, ctx.b, ctx.other]) assert.ok(await alive(ctx, t), 'a refused SET ended a session');
    return;
  }
  assert.unreachable(`accepted (expected ${code}/${reason})`);
}

S('CAEP session-revoked with a complex subject (user + session) ends that provider session’s session only', async (ctx) => {
  const subject = { format: 'complex', user: issSub(ctx), session: { format: 'opaque', id: 'sid-A' } };
  const result = await ctx.receiver.receive(ctx.h.manager, await set(ctx, { [`${CAEP}session-revoked`]: { subject, event_timestamp: 1 } }));
  assert.equal(result, { ended: 1, events: [{ type: `${CAEP}session-revoked`, applied: true }] });
  assert.not.ok(await alive(ctx, ctx.a));
  assert.ok(await alive(ctx, ctx.b));
  assert.ok(await alive(ctx, ctx.other));
});

S('SSF 1.0: the subject in the SET’s sub_id', async (ctx) => {
  const sub_id = { format: 'complex', session: { format: 'opaque', id: 'sid-B' } };
  const result = await ctx.receiver.receive(ctx.h.manager, await set(ctx, { [`${CAEP}session-revoked`]: {} }, { sub_id }));
  assert.is(result.ended, 1);
  assert.not.ok(await alive(ctx, ctx.b));
  assert.ok(await alive(ctx, ctx.a));
});

for (const type of [`${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}sessions-revoked`, `${RISC}tokens-revoked`]) {
  S(`${type.slice(type.lastIndexOf('/') + 1)} ends every session of the subject, and no other`, async (ctx) => {
    const result = await ctx.receiver.receive(ctx.h.manager, await set(ctx, { [type]: { subject: issSub(ctx) } }));
    assert.is(result.ended, 2);
    assert.not.ok(await alive(ctx, ctx.a));
    assert.not.ok(await alive(ctx, ctx.b));
    assert.ok(await alive(ctx, ctx.other));
  });
}

S('email and opaque subjects through resolveSubject; unresolved, or without a hook: accepted and ignored', async (ctx) => {
  const seen: unknown[] = [];
  const receiver = receiverFor(ctx, {
    resolveSubject: (subject) => {
      seen.push(subject);
      return subject.email === 'bob@example.com' ? { issuer: ctx.idp.issuer, subject: 'idp-2' } : undefined;
    },
  });
  const bob = await receiver.receive(ctx.h.manager, await set(ctx, { [`${RISC}account-disabled`]: { subject: { format: 'email', email: 'bob@example.com' } } }));
  assert.is(bob.ended, 1);
  assert.not.ok(await alive(ctx, ctx.other));
  const nobody = await receiver.receive(ctx.h.manager, await set(ctx, { [`${RISC}account-disabled`]: { subject: { format: 'opaque', id: 'x-9' } } }));
  assert.equal(nobody.events, [{ type: `${RISC}account-disabled`, applied: false }]);
  assert.equal(seen, [{ format: 'email', email: 'bob@example.com' }, { format: 'opaque', id: 'x-9' }]);
  const noHook = await ctx.receiver.receive(ctx.h.manager, await set(ctx, { [`${RISC}account-disabled`]: { subject: { format: 'email', email: 'alice@example.com' } } }));
  assert.is(noHook.ended, 0);
  assert.ok(await alive(ctx, ctx.a));
});

S('an unknown event type is accepted and ignored; alongside a known one, the known one applies', async (ctx) => {
  const result = await ctx.receiver.receive(ctx.h.manager, await set(ctx, { 'https://example.com/event/whatever': { x: 1 }, [`${CAEP}credential-change`]: { subject: issSub(ctx, 'idp-2') } }));
  assert.equal(result.events, [
    { type: 'https://example.com/event/whatever', applied: false },
    { type: `${CAEP}credential-change`, applied: true },
  ]);
  assert.is(result.ended, 1);
});

S('RFC 8935 §2.4 codes: invalid_issuer, invalid_audience, invalid_key (foreign key, HMAC, alg off the list), invalid_request', async (ctx) => {
  const events = { [`${CAEP}credential-change`]: { subject: issSub(ctx) } };
  await refused(ctx, await set(ctx, events, { iss: 'https://evil.example' }), 'invalid_issuer', 'issuer');
  await refused(ctx, await set(ctx, events, { aud: 'https://other.example' }), 'invalid_audience', 'audience');
  const { privateKey } = await generateKeyPair('ES256');
  const payload = { iss: ctx.idp.issuer, aud: AUD, iat: Math.floor(Date.now() / 1000), jti: 'j-1', events };
  await refused(ctx, await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid: ctx.idp.kids('ES256')[0]! }).sign(privateKey), 'invalid_key', 'signature');
  await refused(ctx, await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'secevent+jwt' }).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!!')), 'invalid_key', 'algorithm');
  await refused(ctx, `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(payload)}.${b64('x')}`, 'invalid_key', 'algorithm');
  await refused(ctx, await set(ctx, events, {}, 'JWT'), 'invalid_request', 'type');
  await refused(ctx, await set(ctx, {}), 'invalid_request', 'events');
  await refused(ctx, await set(ctx, { [`${CAEP}credential-change`]: 'x' }), 'invalid_request', 'events');
  await refused(ctx, await set(ctx, events, { events: undefined }), 'invalid_request', 'events');
  await refused(ctx, await set(ctx, events, { jti: undefined }), 'invalid_request', 'missing_claim');
  await refused(ctx, await set(ctx, events, { jti: 5 }), 'invalid_request', 'invalid_claim');
  await refused(ctx, await set(ctx, events, { iat: Math.floor(Date.now() / 1000) - 7200 }), 'invalid_request', 'expired');
  await refused(ctx, await set(ctx, { [`${CAEP}credential-change`]: {} }), 'invalid_request', 'missing_claim');
  await refused(ctx, await set(ctx, { [`${CAEP}credential-change`]: { subject: { format: 'iss_sub', iss: ctx.idp.issuer } } }), 'invalid_request', 'invalid_claim');
  for (const junk of ['garbage', 42, undefined, 'a.b.c']) await refused(ctx, junk, 'invalid_request', 'malformed');
});

S('a SET is accepted once (its jti), on any node sharing the replay cache', async (ctx) => {
  const token = await set(ctx, { 'https://example.com/event/ping': {} });
  await ctx.receiver.receive(ctx.h.manager, token);
  await refused(ctx, token, 'invalid_request', 'replayed');
  const peer = new SecurityEventReceiver({ transmitters: [{ issuer: ctx.idp.issuer, audience: AUD, jwksUrl: ctx.idp.jwksUrl }], replayCache: ctx.replay.peer(), telemetry: false });
  await refused(ctx, token, 'invalid_request', 'replayed', peer);
});

S('the store or the hook cannot answer: ERR_STORAGE_UNAVAILABLE, and the transmitter’s retry is applied', async (ctx) => {
  const store = ctx.h.store;
  const real = store.findUpstream.bind(store);
  let down = true;
  store.findUpstream = async (selector, now) => {
    if (down) throw new Error('store down');
    return real(selector, now);
  };
  const token = await set(ctx, { [`${RISC}sessions-revoked`]: { subject: issSub(ctx) } });
  try {
    await ctx.receiver.receive(ctx.h.manager, token);
    assert.unreachable('accepted what the store did not confirm');
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
  }
  down = false;
  assert.is((await ctx.receiver.receive(ctx.h.manager, token)).ended, 2);
  const failing = receiverFor(ctx, {
    resolveSubject: () => {
      throw new Error('directory down');
    },
  });
  const viaHook = await set(ctx, { [`${RISC}account-disabled`]: { subject: { format: 'email', email: 'bob@example.com' } } });
  try {
    await failing.receive(ctx.h.manager, viaHook);
    assert.unreachable('accepted with a failing hook');
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_STORAGE_UNAVAILABLE');
  }
  const fixed = receiverFor(ctx, { resolveSubject: () => ({ issuer: ctx.idp.issuer, subject: 'idp-2' }) });
  assert.is((await fixed.receive(ctx.h.manager, viaHook)).ended, 1, 'the retry was refused as a replay');
});

S('counted in jwt_session.upstream.security_events: applied and ignored by event type, refused by reason', async (ctx) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  try {
    const counted = receiverFor(ctx, { telemetry: { meterProvider } });
    await counted.receive(ctx.h.manager, await set(ctx, { 'https://example.com/unknown': {}, [`${RISC}tokens-revoked`]: { subject: issSub(ctx, 'idp-2') } }));
    await counted.receive(ctx.h.manager, 'garbage').catch(() => undefined);
    await reader.forceFlush();
    const metric = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.descriptor.name === 'jwt_session.upstream.security_events');
    const points = ((metric?.dataPoints ?? []) as DataPoint<number>[]).map((p) => [JSON.stringify(p.attributes), p.value]).sort();
    assert.equal(points, [
      [`{"outcome":"applied","detail":"${RISC}tokens-revoked"}`, 1],
      ['{"outcome":"ignored","detail":"unknown"}', 1],
      ['{"outcome":"refused","detail":"malformed"}', 1],
    ]);
  } finally {
    await meterProvider.shutdown();
  }
});

S('bad options fail at construction', (ctx) => {
  const t = { issuer: ctx.idp.issuer, audience: AUD };
  for (const options of [
    undefined,
    { replayCache: ctx.replay },
    { transmitters: [], replayCache: ctx.replay },
    { transmitters: [{ issuer: ctx.idp.issuer }], replayCache: ctx.replay },
    { transmitters: [{ ...t, algorithms: ['HS256'] }], replayCache: ctx.replay },
    { transmitters: [t, t], replayCache: ctx.replay },
    { transmitters: [t] },
    { transmitters: [t], replayCache: ctx.replay, resolveSubject: 'x' },
    { transmitters: [t], replayCache: ctx.replay, maxAge: -5 },
    { transmitters: [{ issuer: 'http://idp.example.com', audience: AUD }], replayCache: ctx.replay },
  ]) {
    try {
      new SecurityEventReceiver(options as never);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
    }
  }
  assert.instance(new SetRefusal('invalid_key', 'signature'), SessionError);
});

S.run();

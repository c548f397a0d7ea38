import { hostileValues, probe } from '@jwt-session/session-core/testing';
import fc from 'fast-check';
import Fastify from 'fastify';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionEndpoints } from '../src/core/endpoints.js';
import type { EndpointRequest } from '../src/core/request.js';
import { sessionRoutes } from '../src/fastify.js';
import { describeDevice, HTTP_ERROR_CODES, SessionHttpError, sessionRouter } from '../src/index.js';
import { Cleanup, makeManager } from './support.js';

/*
 * Guards the reviewer's finding on #10/#12: options read unguarded (a throwing
 * getter, a Proxy) made sessionRouter, sessionRoutes and SessionEndpoints throw
 * a raw TypeError. Every public constructor and function of the package, fed
 * anything, succeeds or fails with a coded error (ERR_CONFIG_INVALID for
 * construction), without holding the event loop for more than 50 ms of CPU.
 */
const S = suite('fuzz: public constructors and functions answer bad input with a coded error');

const RUNS = 100;
const CPU_MS = 50;

/** A value, or the index of a hostile one: proxies are built inside the property, since fast-check itself inspects what it generates. */
type Recipe = { value: unknown } | { hostile: number };
const HOSTILE_COUNT = hostileValues().length;
const input = (): fc.Arbitrary<Recipe> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true }).map((value) => ({ value })) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: HOSTILE_COUNT - 1 }).map((hostile) => ({ hostile })) },
  );
const make = (r: Recipe): unknown => ('value' in r ? r.value : hostileValues()[r.hostile]);

/** Options objects whose every field may be hostile, so the checks below the top level are reached too. */
const optionsInput = (): fc.Arbitrary<{ top: Recipe; fields: Record<string, Recipe>; cookie: Record<string, Recipe> }> =>
  fc.record({
    top: input(),
    fields: fc.record({ basePath: input(), allowedOrigins: input(), csrfHeader: input(), requireOrigin: input(), trustProxy: input(), onError: input(), ['bad key\n<script>']: input() }, { requiredKeys: [] }),
    cookie: fc.record({ name: input(), prefix: input(), path: input(), domain: input(), sameSite: input(), secure: input(), httpOnly: input(), persistent: input() }, { requiredKeys: [] }),
  });

function makeOptions(o: { top: Recipe; fields: Record<string, Recipe>; cookie: Record<string, Recipe> }, useTop: boolean): unknown {
  if (useTop) return make(o.top);
  const options: Record<string, unknown> = {};
  for (const [key, recipe] of Object.entries(o.fields)) options[key] = make(recipe);
  const cookie: Record<string, unknown> = {};
  for (const [key, recipe] of Object.entries(o.cookie)) cookie[key] = make(recipe);
  options.cookie = cookie;
  return options;
}

const EXTRA = [...HTTP_ERROR_CODES];

/** Construction fails only with the package's own ERR_CONFIG_INVALID. */
async function construct(what: string, call: () => unknown): Promise<void> {
  const error = await probe(call, CPU_MS, EXTRA);
  if (error === undefined) return;
  if (!(error instanceof SessionHttpError) || error.code !== 'ERR_CONFIG_INVALID') {
    throw new Error(`${what}: failed with ${(error as { code?: unknown }).code as string}, not a SessionHttpError ERR_CONFIG_INVALID`);
  }
}

async function check(what: string, property: fc.IAsyncProperty<never>): Promise<void> {
  await fc.assert(property as fc.IAsyncProperty<unknown[]>, { numRuns: RUNS, seed: 12_10 }).catch((error: Error) => assert.unreachable(`${what}: ${error.message.slice(0, 600)}`));
}

S('sessionRouter, SessionEndpoints and sessionRoutes with any manager and options', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    // Every hostile value, in every position, deterministically; then random mixes below.
    for (let i = 0; i < HOSTILE_COUNT; i++) {
      await construct(`sessionRouter(hostile #${i})`, () => sessionRouter(hostileValues()[i] as never));
      await construct(`sessionRouter(manager, hostile #${i})`, () => sessionRouter(manager, hostileValues()[i] as never));
      await construct(`sessionRouter(manager, { cookie: hostile #${i} })`, () => sessionRouter(manager, { cookie: hostileValues()[i] as never }));
      await construct(`new SessionEndpoints(manager, hostile #${i})`, () => new SessionEndpoints(manager, hostileValues()[i] as never));
      const app = Fastify();
      try {
        await construct(`sessionRoutes(hostile #${i})`, async () => {
          await app.register(sessionRoutes, hostileValues()[i] as never);
          await app.ready();
        });
      } finally {
        await app.close().catch(() => undefined);
      }
    }
    const anyManager = fc.oneof(fc.constant<Recipe>({ value: manager }), input());
    await check('sessionRouter', fc.asyncProperty(anyManager, optionsInput(), fc.boolean(), async (m, o, top) => {
      await construct('sessionRouter', () => sessionRouter(make(m) as never, makeOptions(o, top) as never));
    }) as never);
    await check('SessionEndpoints', fc.asyncProperty(anyManager, optionsInput(), fc.boolean(), input(), async (m, o, top, prefix) => {
      const mountPrefix = make(prefix);
      await construct('SessionEndpoints', () => new SessionEndpoints(make(m), makeOptions(o, top) as never, typeof mountPrefix === 'string' ? mountPrefix : ''));
    }) as never);
    await check('sessionRoutes', fc.asyncProperty(anyManager, optionsInput(), fc.boolean(), async (m, o, top) => {
      const app = Fastify();
      try {
        const options = makeOptions(o, top);
        const withManager = options !== null && typeof options === 'object' && !top ? { ...(options as object), manager: make(m) } : options;
        await construct('sessionRoutes', async () => {
          await app.register(sessionRoutes, withManager as never);
          await app.ready();
        });
      } finally {
        await app.close().catch(() => undefined);
      }
    }) as never);
  } finally {
    await cleanup.run();
  }
});

S('a misspelt option is named; a key that does not look like one is never echoed', () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const refused = (options: unknown): SessionHttpError => {
      try {
        sessionRouter(manager, options as never);
      } catch (error) {
        assert.instance(error, SessionHttpError);
        assert.is((error as SessionHttpError).code, 'ERR_CONFIG_INVALID');
        return error as SessionHttpError;
      }
      return assert.unreachable('accepted') as never;
    };
    assert.is(refused({ trustproxy: true }).message, 'options.trustproxy is not an option');
    assert.is(refused({ cookie: { samesite: 'Lax' } }).message, 'options.cookie.samesite is not an option');
    const hostile = refused({ '<img src=x onerror=alert(1)>': 1 }).message;
    assert.is(hostile, 'options holds an unknown option');
    assert.is(refused({ ['a'.repeat(42)]: 1 }).message, 'options holds an unknown option');
    assert.is(refused(new Proxy({}, { ownKeys: () => { throw new Error('trap'); } })).message, 'options could not be read');
  } finally {
    void cleanup.run();
  }
});

S('describeDevice and issueSession with anything', async () => {
  await check('describeDevice', fc.asyncProperty(input(), async (ua) => {
    await probe(() => describeDevice(make(ua) as never), CPU_MS, EXTRA);
  }) as never);
  const cleanup = new Cleanup();
  try {
    const router = sessionRouter(makeManager(cleanup));
    await check('issueSession', fc.asyncProperty(input(), input(), async (subject, options) => {
      const req = new IncomingMessage(new Socket());
      req.method = 'POST';
      req.headers = { 'x-jwt-session': '1', host: 'app.test' };
      const res = new ServerResponse(req);
      // Resolves, with a body or undefined after an error answer; never a raw rejection.
      await probe(() => router.issueSession(req, res, make(subject) as never, make(options) as never), CPU_MS, EXTRA);
      assert.ok(res.statusCode === 200 || res.statusCode >= 400, `status ${res.statusCode}`);
    }) as never);
  } finally {
    await cleanup.run();
  }
});

/*
 * Guards #20 item 1 (cookie tossing) over any mix of refresh cookies: garbage,
 * empty, repeated, the user's genuine one and an attacker's valid one, in any
 * order, between other cookies. With two or more distinct candidates the
 * refresh is refused, nothing is cleared and no token is spent; with a
 * `__Host-` name the first is used.
 */
S('refresh with any mix of duplicate refresh cookies: more than one candidate is refused unspent, never cleared, never used', async () => {
  const cleanup = new Cleanup();
  try {
    const manager = makeManager(cleanup);
    const plain = new SessionEndpoints(manager, {});
    const host = new SessionEndpoints(manager, { cookie: { path: '/', secure: true } });
    const value = fc.stringMatching(/^[A-Za-z0-9._~!-]{1,40}$/);
    type Entry = { kind: 'genuine' | 'attacker' | 'empty' } | { kind: 'garbage' | 'other'; value: string };
    const entry: fc.Arbitrary<Entry> = fc.oneof(
      fc.constantFrom<Entry>({ kind: 'genuine' }, { kind: 'attacker' }, { kind: 'empty' }),
      value.map((v): Entry => ({ kind: 'garbage', value: v })),
      value.map((v): Entry => ({ kind: 'other', value: v })),
    );
    await check('duplicate refresh cookies', fc.asyncProperty(fc.array(entry, { maxLength: 6 }), fc.boolean(), fc.constantFrom('; ', ';', ' ;  '), async (entries, useHost, separator) => {
      const endpoints = useHost ? host : plain;
      const name = useHost ? '__Host-jwt-session-refresh' : 'jwt-session-refresh';
      const genuine = (await manager.create('alice')).refreshToken;
      const attacker = (await manager.create('mallory')).refreshToken;
      const sent: string[] = [];
      const pairs = entries.map((e) => {
        if (e.kind === 'other') return `other=${e.value}`;
        const v = e.kind === 'genuine' ? genuine : e.kind === 'attacker' ? attacker : e.kind === 'garbage' ? e.value : '';
        if (v !== '' && !sent.includes(v)) sent.push(v);
        return `${name}=${v}`;
      });
      const req: EndpointRequest = { method: 'POST', headers: { cookie: pairs.join(separator), 'x-jwt-session': '1' }, rawHeaders: [], remoteAddress: '127.0.0.1', encrypted: useHost };
      const answer = await endpoints.handle('refresh', req);
      const candidates = useHost ? sent.slice(0, 1) : sent;
      if (candidates.length === 0) {
        assert.equal([answer.status, answer.setCookie], [204, undefined]);
      } else if (candidates.length === 1) {
        const expected = candidates[0] === genuine || candidates[0] === attacker ? 200 : 401;
        assert.is(answer.status, expected, answer.body);
      } else {
        assert.equal([answer.status, answer.setCookie, JSON.parse(answer.body!).error], [401, undefined, 'ERR_REFRESH_COOKIE_AMBIGUOUS']);
        // Neither the genuine nor the attacker's token was spent: both still rotate.
        await manager.update(genuine);
        await manager.update(attacker);
      }
    }) as never);
  } finally {
    await cleanup.run();
  }
});

S.run();

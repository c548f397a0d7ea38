import { SESSION_ERROR_CODES, type SessionVerifier } from '@jwt-session/session-core';
import fc from 'fast-check';
import Fastify from 'fastify';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket as NetSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Server } from 'socket.io';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADAPTER_ERROR_CODES,
  attachSessionGuard,
  authenticateRequest,
  authenticateToken,
  AuthError,
  disconnectSession,
  disconnectUser,
  extractToken,
  httpAuth,
  httpFailure,
  httpStatusOf,
  isUserOnline,
  sessionRoom,
  socketAuth,
  socketsOfUser,
  toAuthError,
  userRoom,
} from '../src/index.js';
import { fastifySessionAuth } from '../src/fastify.js';
import { Cleanup, connect, makeManager, startIo } from './support.js';

/*
 * Issue 10 defect 11: every public function of the adapter, fed anything
 * (wrong types, objects whose getters throw, megabyte strings, hostile
 * headers), answers with success or an AuthError whose code is in the
 * documented list; no call blocks the event loop for more than 50 ms; and a
 * valid session still works afterwards.
 */
const S = suite('fuzz: public functions answer bad input with a coded error (issue 10 defect 11)');

const CODES = new Set<string>([...ADAPTER_ERROR_CODES, ...SESSION_ERROR_CODES]);
const RUNS = 200;
const STALL_MS = 50;

/** An object whose every property read throws. */
const throwingProxy = new Proxy({}, {
  get(_target, key) {
    // fast-check's printer asks for this to describe a counterexample.
    if (key === fc.toStringMethod) return () => 'throwingProxy';
    if (typeof key === 'symbol') return undefined;
    throw new Error('getter trap');
  },
});
function throwingGetters(keys: string[]): object {
  const object = { [fc.toStringMethod]: () => `throwingGetters(${keys.join(',')})` };
  for (const key of keys) Object.defineProperty(object, key, { enumerable: true, get: () => { throw new TypeError(`no ${key}`); } });
  return object;
}
const huge = 'A'.repeat(1 << 20);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything() },
  fc.constant(throwingProxy),
  fc.constant(throwingGetters(['headers', 'auth', 'rawHeaders', 'cookie', 'users', 'manager', 'read', 'token', 'authorization', 'origin', 'name', 'allowedOrigins', 'findOrCreate'])),
  fc.constant(huge),
  fc.constant(`Bearer ${huge}`),
  fc.constant(`${'a=b; '.repeat(50_000)}at=x`),
  fc.string(),
  fc.string().map((s) => `Bearer ${s}`),
);
const headers = fc.record(
  { authorization: hostileValue, cookie: hostileValue, origin: hostileValue },
  { requiredKeys: [] },
);
const request = fc.oneof(
  hostileValue,
  fc.record({ auth: fc.oneof(hostileValue, fc.record({ token: hostileValue })), headers: fc.oneof(headers, hostileValue), rawHeaders: fc.oneof(fc.array(fc.oneof(fc.string(), hostileValue)), hostileValue) }, { requiredKeys: [] }),
);
const options = fc.oneof(
  hostileValue,
  fc.record(
    {
      cookie: fc.oneof(hostileValue, fc.record({ name: fc.oneof(fc.constant('at'), hostileValue), allowedOrigins: fc.oneof(fc.array(fc.string()), fc.constant(() => { throw new Error('predicate'); }), hostileValue) })),
      users: fc.oneof(hostileValue, fc.record({ findOrCreate: fc.oneof(fc.constant(() => throwingProxy), fc.constant(() => null), fc.constant(() => { throw new Error('db'); }), hostileValue) })),
      realm: hostileValue,
      userRoomPrefix: hostileValue,
      renewRateLimit: hostileValue,
      namespaces: hostileValue,
    },
    { requiredKeys: [] },
  ),
);

function assertCoded(error: unknown, what: string): void {
  if (!(error instanceof AuthError)) throw new Error(`${what}: threw a raw ${Object.prototype.toString.call(error)}: ${String((error as Error)?.message ?? error).slice(0, 200)}`);
  if (!CODES.has(error.code)) throw new Error(`${what}: undocumented code ${error.code}`);
}

/** Runs `call` until one run stays under the stall bound (a real stall repeats; a busy machine does not, three times). */
async function settle(what: string, call: () => unknown): Promise<void> {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best > STALL_MS; attempt++) {
    const start = performance.now();
    try {
      await call();
    } catch (error) {
      assertCoded(error, what);
    }
    best = Math.min(best, performance.now() - start);
  }
  if (best > STALL_MS) throw new Error(`${what}: blocked for ${best.toFixed(1)} ms`);
}

/** fc.assert, with the failure reduced to what went wrong (a counterexample may hold a megabyte string). */
async function check(property: fc.IAsyncProperty<never> | fc.IAsyncPropertyWithHooks<never>, numRuns = RUNS): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncProperty<unknown[]>, { numRuns });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${String((cause as Error | undefined)?.message ?? (error as Error).message).slice(0, 500)}`);
  }
}

/** A request/response pair of Node's own classes, on an unconnected socket. */
function realResponse(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new NetSocket()));
}

S('token extraction, verification and the HTTP helpers', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const anyVerifier = fc.oneof(fc.constant<unknown>(manager), hostileValue);
    await check(fc.asyncProperty(request, options, async (req, opts) => {
      await settle('extractToken', () => extractToken(req as never, opts as never));
    }) as never);
    await check(fc.asyncProperty(anyVerifier, hostileValue, options, async (verifier, token, opts) => {
      await settle('authenticateToken', () => authenticateToken(verifier as SessionVerifier, token as string, opts as never));
    }) as never);
    await check(fc.asyncProperty(anyVerifier, request, options, async (verifier, req, opts) => {
      await settle('authenticateRequest', () => authenticateRequest(verifier as SessionVerifier, req as never, opts as never));
    }) as never);
    await check(fc.asyncProperty(hostileValue, options, async (error, opts) => {
      await settle('httpFailure', () => {
        const failure = httpFailure(error as AuthError, opts as never);
        assert.ok(CODES.has(failure.body.error));
      });
      await settle('httpStatusOf', () => assert.type(httpStatusOf(error as never), 'number'));
      await settle('toAuthError', () => assertCoded(toAuthError(error), 'toAuthError'));
      await settle('userRoom', () => userRoom(error as string, opts as never));
      await settle('sessionRoom', () => sessionRoom(error as string, opts as never));
    }) as never);

    // The middleware: construction with anything; a built one with any request, on a real response.
    await check(fc.asyncProperty(anyVerifier, options, request, async (verifier, opts, req) => {
      await settle('httpAuth', () => httpAuth(verifier as SessionVerifier, opts as never));
      // The generated options reach the middleware whenever they construct one (users.findOrCreate that
      // throws, a cookie name, …); options refused at construction (coded, checked just above) fall back to none.
      let middleware: ReturnType<typeof httpAuth>;
      try {
        middleware = httpAuth(manager, opts as never);
      } catch (error) {
        assertCoded(error, 'httpAuth(manager, opts)');
        middleware = httpAuth(manager);
      }
      await settle('httpAuth middleware', () => new Promise<void>((resolve, reject) => {
        const res = realResponse();
        res.end = ((() => {
          assert.ok(res.statusCode >= 400);
          resolve();
          return res;
        }) as unknown) as ServerResponse['end'];
        middleware(req as never, res, (err?: unknown) => {
          if (err === undefined) resolve();
          else {
            try {
              assertCoded(err, 'httpAuth next(err)');
              resolve();
            } catch (e) {
              reject(e);
            }
          }
        });
      }));
    }) as never);

    // A valid session still works after all of it.
    const tokens = await manager.create('alice');
    const { auth } = await authenticateRequest(manager, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    assert.is(auth.sessionId, tokens.sessionId);
  } finally {
    await c.run();
  }
});

S('Socket.IO: socketAuth, attachSessionGuard and the room helpers; the Fastify plugin at registration', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    // Never attached to an HTTP server: nothing to close.
    const io = new Server();
    const anyVerifier = fc.oneof(fc.constant<unknown>(manager), hostileValue);
    await check(fc.asyncProperty(anyVerifier, options, async (verifier, opts) => {
      await settle('socketAuth', () => socketAuth(verifier as SessionVerifier, opts as never));
      await settle('attachSessionGuard', () => attachSessionGuard(io, verifier as SessionVerifier, opts as never).close());
      await settle('attachSessionGuard(io)', () => attachSessionGuard(opts as never, manager).close());
    }) as never);
    // The middleware with anything for a socket: next() gets nothing or a coded handshake error.
    await check(fc.asyncProperty(hostileValue, async (socket) => {
      await settle('socketAuth middleware', () => new Promise<void>((resolve, reject) => {
        socketAuth(manager)(socket as never, (err?: Error & { data?: { code?: string } }) => {
          if (err === undefined || CODES.has(err.data?.code ?? '')) resolve();
          else reject(new Error(`uncoded handshake error ${String(err?.message)}`));
        });
      }));
    }) as never);
    await check(fc.asyncProperty(hostileValue, hostileValue, options, async (target, id, opts) => {
      await settle('socketsOfUser', () => socketsOfUser(target as never, id as string, opts as never));
      await settle('isUserOnline', () => isUserOnline(target as never, id as string, opts as never));
      await settle('disconnectUser', () => disconnectUser(target as never, id as string, opts as never));
      await settle('disconnectSession', () => disconnectSession(target as never, id as string, opts as never));
    }) as never);
    await check(fc.asyncProperty(options, anyVerifier, async (opts, verifier) => {
      // The generated options with the generated manager added; options that cannot even be copied (a getter
      // throws) are registered as they are, so that the hostile object itself reaches the plugin.
      let pluginOptions: unknown;
      try {
        pluginOptions = { ...(typeof opts === 'object' && opts !== null ? opts : {}), manager: verifier };
      } catch {
        pluginOptions = opts;
      }
      // Start-up, not request time, and mostly Fastify's own boot: checked for a coded answer, not timed.
      const app = Fastify();
      try {
        await app.register(fastifySessionAuth, pluginOptions as never);
        await app.ready();
      } catch (error) {
        assertCoded(error, 'fastifySessionAuth');
      } finally {
        await app.close().catch(() => undefined);
      }
    }) as never, 50);
    // The object whose getters throw, every time (the property reaches it only now and then): Fastify can
    // read what it needs (no prefix), the plugin reads `manager` and must answer with a code.
    const hostileApp = Fastify();
    try {
      await hostileApp.register(fastifySessionAuth, throwingGetters(['manager', 'users', 'cookie']) as never);
      await hostileApp.ready();
      assert.unreachable('registered without a readable manager');
    } catch (error) {
      assertCoded(error, 'fastifySessionAuth(throwingGetters)');
    } finally {
      await hostileApp.close().catch(() => undefined);
    }

    // A valid session still connects through a guarded server afterwards.
    const { url } = await startIo(c, manager);
    const tokens = await manager.create('alice');
    assert.ok((await connect(c, url, { auth: { token: tokens.accessToken } })).connected);
  } finally {
    await c.run();
  }
});

S.run();

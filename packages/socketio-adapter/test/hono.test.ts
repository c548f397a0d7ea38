import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthError, type AuthContext } from '../src/index.js';
import { honoSessionAuth, type SessionAuthEnv } from '../src/hono.js';
import { Cleanup, makeManager } from './support.js';

const S = suite('Hono (honoSessionAuth)');

async function serve(c: Cleanup, app: Hono<SessionAuthEnv>): Promise<string> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.add(() => new Promise((resolve) => server.close(resolve)));
  c.add(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

S('options are checked once, at construction: a missing manager, a bad option, an option of another library', () => {
  const c = new Cleanup();
  const manager = makeManager(c);
  const refused = (run: () => unknown, message: RegExp) => {
    try {
      run();
      assert.unreachable('accepted');
    } catch (error) {
      assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID');
      assert.match((error as AuthError).message, message);
    }
  };
  refused(() => honoSessionAuth(undefined as never), /^honoSessionAuth: manager/);
  refused(() => honoSessionAuth(manager, { realm: 1 as never }), /^honoSessionAuth: realm must be a string/);
  refused(() => honoSessionAuth(manager, { secret: 'shh', alg: 'HS256' } as never), /^honoSessionAuth: secret is not an option/);
  // hono/jwt's own option names are no more ours than express-jwt's.
  refused(() => honoSessionAuth(manager, { headerName: 'x-token' } as never), /^honoSessionAuth: headerName is not an option/);
  void c.run();
});

S('a refusal is an HTTPException: Hono answers its response (the RFC 6750 challenge), onError sees the AuthError as its cause', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const seen: unknown[] = [];
    const app = new Hono<SessionAuthEnv>();
    app.use('/api/*', honoSessionAuth(manager, { realm: 'api' }));
    app.get('/api/me', (ctx) => ctx.json({ userId: ctx.get('auth')?.userId }));
    const mapped = new Hono<SessionAuthEnv>();
    mapped.use('*', honoSessionAuth(manager));
    mapped.get('/me', (ctx) => ctx.text('never'));
    mapped.onError((error, ctx) => {
      seen.push(error);
      // The app's own error format, from the code.
      if (error instanceof HTTPException && error.cause instanceof AuthError) return ctx.json({ problem: error.cause.code }, error.status);
      return ctx.text('other', 500);
    });
    app.route('/mapped', mapped);
    const origin = await serve(c, app);
    const { accessToken } = await manager.create('alice');

    const ok = await fetch(`${origin}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal([ok.status, await ok.json()], [200, { userId: 'alice' }]);
    const missing = await fetch(`${origin}/api/me`);
    assert.equal([missing.status, missing.headers.get('www-authenticate'), missing.headers.get('cache-control')], [401, 'Bearer realm="api"', 'no-store']);
    assert.equal(await missing.json(), { error: 'ERR_AUTH_TOKEN_REQUIRED', message: 'an access token is required' });
    const bad = await fetch(`${origin}/api/me`, { headers: { authorization: 'Bearer e30.e30.e30' } });
    assert.is(bad.status, 401);
    assert.match(String(bad.headers.get('www-authenticate')), /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);

    const viaOnError = await fetch(`${origin}/mapped/me`, { headers: { authorization: 'Bearer e30.e30.e30' } });
    assert.equal([viaOnError.status, await viaOnError.json()], [401, { problem: 'ERR_AUTH_TOKEN_INVALID' }]);
    assert.is(seen.length, 1);
    assert.instance(seen[0], HTTPException);
  } finally {
    await c.run();
  }
});

S('getToken(c) gets the Hono context; two Authorization headers (joined by fetch) are one malformed header', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const app = new Hono<SessionAuthEnv>();
    let received: Context | undefined;
    app.get(
      '/custom',
      honoSessionAuth(manager, {
        getToken: (ctx) => {
          received = ctx;
          return ctx.req.header('x-token');
        },
      }),
      (ctx) => {
        const auth: AuthContext | undefined = ctx.get('auth');
        return ctx.json({ sub: auth?.sub });
      },
    );
    app.get('/me', honoSessionAuth(manager), (ctx) => ctx.json({ sub: ctx.get('auth')?.sub }));
    const origin = await serve(c, app);
    const { accessToken } = await manager.create('bob');
    const custom = await fetch(`${origin}/custom`, { headers: { 'x-token': accessToken } });
    assert.equal([custom.status, await custom.json()], [200, { sub: 'bob' }]);
    assert.ok(received !== undefined && typeof received.req.header === 'function', 'the context itself');
    const twice = new Headers();
    twice.append('authorization', `Bearer ${accessToken}`);
    twice.append('authorization', `Bearer ${accessToken}`);
    const malformed = await fetch(`${origin}/me`, { headers: twice });
    assert.equal([malformed.status, ((await malformed.json()) as { error: string }).error], [400, 'ERR_AUTH_HEADER_MALFORMED']);
  } finally {
    await c.run();
  }
});

S.run();

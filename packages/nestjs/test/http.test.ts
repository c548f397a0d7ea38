import './support.js';
import { Catch, Controller, Get, HttpException, Injectable, Module, UseGuards, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { SessionVerifier } from '@jwt-session/session-core';
import { AuthError } from '@jwt-session/socketio-adapter';
import type { Response } from 'express';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionModule, SessionAuth, SessionAuthGuard, type AuthContext, type JwtSessionModuleOptions } from '../src/index.js';
import { Cleanup, makeManager, startApp } from './support.js';

const S = suite('NestJS over HTTP (guard, @SessionAuth, JwtSessionModule)');

@Controller()
class MeController {
  @Get('me')
  @UseGuards(SessionAuthGuard)
  me(@SessionAuth() auth: AuthContext, @SessionAuth('userId') userId: string) {
    return { userId, sessionId: auth.sessionId, roles: auth.roles };
  }

  @Get('open')
  open(@SessionAuth() auth: AuthContext | undefined) {
    return { auth: auth ?? null };
  }
}

function appModule(options: JwtSessionModuleOptions) {
  @Module({ imports: [JwtSessionModule.forRoot(options)], controllers: [MeController] })
  class AppModule {}
  return AppModule;
}

S('a valid token reaches the handler through @SessionAuth(); refusals carry httpAuth\'s codes and RFC 6750 challenges', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const { url } = await startApp(c, appModule({ manager, realm: 'api' }));
    const tokens = await manager.create('alice', { claims: { roles: ['admin'] } });
    const ok = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    assert.equal([ok.status, await ok.json()], [200, { userId: 'alice', sessionId: tokens.sessionId, roles: ['admin'] }]);

    const missing = await fetch(`${url}/me`);
    assert.equal([missing.status, missing.headers.get('www-authenticate'), missing.headers.get('cache-control')], [401, 'Bearer realm="api"', 'no-store']);
    assert.equal(await missing.json(), { error: 'ERR_AUTH_TOKEN_REQUIRED', message: 'an access token is required' });
    const bad = await fetch(`${url}/me`, { headers: { authorization: 'Bearer e30.e30.e30' } });
    assert.equal([bad.status, ((await bad.json()) as { error: string }).error], [401, 'ERR_AUTH_TOKEN_INVALID']);
    assert.match(String(bad.headers.get('www-authenticate')), /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
    const malformed = await fetch(`${url}/me`, { headers: { authorization: 'Bearer a b' } });
    assert.equal([malformed.status, ((await malformed.json()) as { error: string }).error], [400, 'ERR_AUTH_HEADER_MALFORMED']);
    await manager.deleteOne('alice', tokens.sessionId);
    const revoked = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    const text = await revoked.text();
    assert.equal([revoked.status, JSON.parse(text).error], [401, 'ERR_SESSION_REVOKED']);
    assert.not.ok(text.includes(tokens.accessToken), 'no token echoed');
    // Without the guard the decorator finds nothing.
    assert.equal(await (await fetch(`${url}/open`)).json(), { auth: null });
  } finally {
    await c.run();
  }
});

S('the refusal is an HttpException whose cause is the AuthError: an exception filter of the app maps it', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    @Catch(HttpException)
    class ProblemFilter implements ExceptionFilter {
      catch(exception: HttpException, host: ArgumentsHost) {
        const code = exception.cause instanceof AuthError ? exception.cause.code : 'OTHER';
        host.switchToHttp().getResponse<Response>().status(exception.getStatus()).json({ problem: code });
      }
    }
    const { url } = await startApp(c, appModule({ manager }), (app) => app.useGlobalFilters(new ProblemFilter()));
    const res = await fetch(`${url}/me`, { headers: { authorization: 'Bearer e30.e30.e30' } });
    assert.equal([res.status, await res.json()], [401, { problem: 'ERR_AUTH_TOKEN_INVALID' }]);
    // The challenge was set before the filter wrote the body.
    assert.match(String(res.headers.get('www-authenticate')), /^Bearer error="invalid_token"/);
  } finally {
    await c.run();
  }
});

S('forRootAsync: the factory builds the options from injected providers; credentialsRequired: false lets anonymous requests through', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    @Injectable()
    class Sessions {
      readonly manager: SessionVerifier = manager;
    }
    @Module({ providers: [Sessions], exports: [Sessions] })
    class SessionsModule {}
    @Controller()
    class OptionalController {
      @Get('maybe')
      @UseGuards(SessionAuthGuard)
      maybe(@SessionAuth('sub') sub: string | undefined) {
        return { sub: sub ?? null };
      }
    }
    @Module({
      imports: [JwtSessionModule.forRootAsync({ imports: [SessionsModule], inject: [Sessions], useFactory: (sessions: Sessions) => ({ manager: sessions.manager, credentialsRequired: false }) })],
      controllers: [OptionalController],
    })
    class AppModule {}
    const { url } = await startApp(c, AppModule);
    assert.equal(await (await fetch(`${url}/maybe`)).json(), { sub: null });
    const { accessToken } = await manager.create('bob');
    assert.equal(await (await fetch(`${url}/maybe`, { headers: { authorization: `Bearer ${accessToken}` } })).json(), { sub: 'bob' });
    assert.is((await fetch(`${url}/maybe`, { headers: { authorization: 'Bearer e30.e30.e30' } })).status, 401);
  } finally {
    await c.run();
  }
});

S('options are checked when the app starts: an unknown option (express-jwt\'s secret, algorithms) or a missing manager fails start-up, named', async () => {
  // Guards (issue 28): options another JWT middleware takes were silently ignored.
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    const cases: [unknown, RegExp][] = [
      [{ manager, secret: 'shh', algorithms: ['HS256'] }, /^JwtSessionModule: secret is not an option/],
      [{ manager, requestProperty: 'user' }, /^JwtSessionModule: requestProperty is not an option/],
      [{ realm: 'api' }, /^JwtSessionModule: manager must be given/],
      [undefined, /^JwtSessionModule: manager must be given/],
      [{ manager, realm: 7 }, /^JwtSessionModule: realm must be a string/],
    ];
    for (const [options, message] of cases) {
      const attempt = new Cleanup();
      try {
        await startApp(attempt, appModule(options as JwtSessionModuleOptions));
        assert.unreachable('the app started');
      } catch (error) {
        assert.is((error as AuthError).code, 'ERR_CONFIG_INVALID', String(error));
        assert.match((error as AuthError).message, message);
      } finally {
        await attempt.run();
      }
    }
  } finally {
    await c.run();
  }
});


S.run();

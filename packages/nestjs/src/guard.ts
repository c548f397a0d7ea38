import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthError, httpAuthenticator, type AuthContext, type HttpAuthenticator, type HttpRequestLike } from '@jwt-session/socketio-adapter';
import { JWT_SESSION_OPTIONS } from './module-definition.js';
import type { JwtSessionModuleOptions } from './options.js';

/** Express's request, or Fastify's (whose Node request is `raw`); `auth` is what the guard sets. */
type PlatformRequest = HttpRequestLike & { raw?: HttpRequestLike; auth?: AuthContext };

/**
 * A `CanActivate` on `httpAuth`'s core: the same options, codes and RFC 6750
 * challenges. Sets `request.auth` (read it with `@SessionAuth()`), or throws
 * an `HttpException` with the body `{ error: code, message }` whose `cause` is
 * the `AuthError`, after setting the `WWW-Authenticate` challenge on the
 * response: the app's exception filters can map it. On a gateway (`ws`), it
 * lets through the sockets `SessionIoAdapter` authenticated.
 *
 * @example
 * \@UseGuards(SessionAuthGuard)
 * \@Get('me')
 * me(\@SessionAuth() auth: AuthContext) { return { userId: auth.userId }; }
 */
export class SessionAuthGuard implements CanActivate {
  readonly #authenticate: HttpAuthenticator;
  readonly #host: HttpAdapterHost;

  constructor(options: JwtSessionModuleOptions, host: HttpAdapterHost) {
    // Checked here, once, when the app starts: a bad or unknown option fails app.init(), not the first request.
    const { manager, ...httpOptions } = (options ?? {}) as JwtSessionModuleOptions;
    this.#authenticate = httpAuthenticator('JwtSessionModule', manager, httpOptions);
    this.#host = host;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() === 'ws') return context.switchToWs().getClient<{ data?: { auth?: unknown } }>().data?.auth !== undefined;
    const http = context.switchToHttp();
    const request = http.getRequest<PlatformRequest>();
    const result = await this.#authenticate(request.raw ?? request);
    if (result === undefined) return true;
    if ('auth' in result) {
      request.auth = result.auth;
      return true;
    }
    const { status, headers, body } = result.failure;
    const response = http.getResponse<unknown>();
    // The platform's exception filter writes the body (JSON); the challenge and no-store are ours to set.
    for (const [name, value] of Object.entries(headers)) if (name !== 'content-type') this.#host.httpAdapter.setHeader(response, name, value);
    throw new HttpException(body, status, { cause: new AuthError(body.error) });
  }
}

// Decorators applied as calls, with explicit tokens: the package needs neither
// experimentalDecorators nor emitted metadata, so apps built with esbuild, tsx
// or SWC (which emit none) inject it too.
Injectable()(SessionAuthGuard);
Inject(JWT_SESSION_OPTIONS)(SessionAuthGuard, undefined, 0);
Inject(HttpAdapterHost)(SessionAuthGuard, undefined, 1);

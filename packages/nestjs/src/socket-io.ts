import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { attachSessionGuard, type SessionGuard, type SessionGuardOptions } from '@jwt-session/socketio-adapter';
import { JWT_SESSION_OPTIONS } from './module-definition.js';
import type { JwtSessionModuleOptions } from './options.js';

/**
 * Nest's Socket.IO adapter with `attachSessionGuard` on every server it
 * creates: handshakes are authenticated (refusals reach the client as
 * `connect_error` with the code), a session revoked on any node disconnects
 * its sockets, an expired token too, and `session:renew` works. The verifier
 * is the one of `JwtSessionModule`; `options` are the guard's (users, rooms,
 * namespaces, renewRateLimit, …), checked when the first gateway starts.
 * The module's `dpop` and `trustProxy` apply to the sockets as well unless
 * `options` sets its own: a DPoP-bound token's handshake carries its proof in
 * `auth.dpop` (see @jwt-session/socketio-adapter's README).
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new SessionIoAdapter(app));
 */
/** The platform's own socket.io (a dependency of @nestjs/platform-socket.io, maybe another copy than the app's). */
type NestServer = ReturnType<IoAdapter['createIOServer']>;
type GuardedServer = Parameters<typeof attachSessionGuard>[0];

export class SessionIoAdapter extends IoAdapter {
  readonly #app: INestApplicationContext;
  readonly #options: SessionGuardOptions;
  readonly #guards = new Map<NestServer, SessionGuard>();

  constructor(app: INestApplicationContext, options: SessionGuardOptions = {}) {
    super(app);
    this.#app = app;
    this.#options = options;
  }

  override createIOServer(port: number, options?: Parameters<IoAdapter['createIOServer']>[1]): NestServer {
    const server = super.createIOServer(port, options);
    const { manager, dpop, trustProxy } = this.#app.get<JwtSessionModuleOptions>(JWT_SESSION_OPTIONS, { strict: false });
    // The module's DPoP settings apply to the sockets too, unless the adapter is given its own.
    const guardOptions: SessionGuardOptions = { ...this.#options };
    if (guardOptions.dpop === undefined && dpop !== undefined) guardOptions.dpop = dpop;
    if (guardOptions.trustProxy === undefined && trustProxy !== undefined) guardOptions.trustProxy = trustProxy;
    // Two socket.io 4.x copies differ only in private members the guard never touches.
    this.#guards.set(server, attachSessionGuard(server as unknown as GuardedServer, manager, guardOptions));
    return server;
  }

  override async close(server: NestServer): Promise<void> {
    this.#guards.get(server)?.close();
    this.#guards.delete(server);
    await super.close(server);
  }
}

import './support.js';
import { Module, UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { io, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionModule, SessionAuth, SessionAuthGuard } from '../src/index.js';
import { SessionIoAdapter } from '../src/socket-io.js';
import { Cleanup, makeManager, startApp } from './support.js';

const S = suite('NestJS gateway (SessionIoAdapter: handshake, @SessionAuth, live revocation)');

@WebSocketGateway()
class EventsGateway {
  @UseGuards(SessionAuthGuard)
  @SubscribeMessage('whoami')
  whoami(@SessionAuth('userId') userId: string) {
    return userId;
  }
}

/** A namespace the adapter's guard leaves public (`namespaces: ['/']`): SessionAuthGuard refuses its events per message. */
@WebSocketGateway({ namespace: '/public' })
class PublicGateway {
  @SubscribeMessage('hello')
  hello() {
    return 'hi';
  }

  @UseGuards(SessionAuthGuard)
  @SubscribeMessage('secret')
  secret(@SessionAuth() auth: unknown) {
    return auth;
  }
}

function client(cleanup: Cleanup, url: string, token?: string): Socket {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token === undefined ? {} : { token } });
  cleanup.add(() => socket.disconnect());
  return socket;
}

function outcome(socket: Socket): Promise<{ connected: true } | { connected: false; code: string | undefined }> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => resolve({ connected: false, code: error.data?.code }));
  });
}

S('a real socket.io client: refused without a token, its user in the handler with one, disconnected when its session is revoked', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    @Module({ imports: [JwtSessionModule.forRoot({ manager })], providers: [EventsGateway] })
    class AppModule {}
    const { url } = await startApp(c, AppModule, (app) => app.useWebSocketAdapter(new SessionIoAdapter(app)));

    assert.equal(await outcome(client(c, url)), { connected: false, code: 'ERR_AUTH_TOKEN_REQUIRED' });
    assert.equal(await outcome(client(c, url, 'e30.e30.e30')), { connected: false, code: 'ERR_AUTH_TOKEN_INVALID' });

    const tokens = await manager.create('alice');
    const socket = client(c, url, tokens.accessToken);
    assert.equal(await outcome(socket), { connected: true });
    assert.is(await socket.emitWithAck('whoami'), 'alice');

    const revoked = new Promise<unknown>((resolve) => socket.once('session:revoked', resolve));
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await manager.deleteOne('alice', tokens.sessionId);
    assert.equal(await revoked, { reason: 'deleted', code: 'ERR_SESSION_REVOKED' });
    assert.is(await disconnected, 'io server disconnect');
    // And the revoked token cannot come back.
    assert.equal(await outcome(client(c, url, tokens.accessToken)), { connected: false, code: 'ERR_SESSION_REVOKED' });
  } finally {
    await c.run();
  }
});

S('SessionAuthGuard on a gateway handler: lets through sockets the adapter authenticated, refuses the others', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    @Module({ imports: [JwtSessionModule.forRoot({ manager })], providers: [EventsGateway, PublicGateway] })
    class AppModule {}
    const { url } = await startApp(c, AppModule, (app) => app.useWebSocketAdapter(new SessionIoAdapter(app, { namespaces: ['/'] })));
    const anonymous = client(c, `${url}/public`);
    assert.equal(await outcome(anonymous), { connected: true });
    assert.is(await anonymous.emitWithAck('hello'), 'hi');
    const refused = new Promise<unknown>((resolve) => anonymous.once('exception', resolve));
    anonymous.emit('secret', {});
    assert.equal(await refused, { status: 'error', message: 'Forbidden resource', cause: { pattern: 'secret', data: {} } });
  } finally {
    await c.run();
  }
});

S('the guard\'s options are checked when the gateway starts: an unknown one fails start-up, named', async () => {
  const c = new Cleanup();
  try {
    const manager = makeManager(c);
    @Module({ imports: [JwtSessionModule.forRoot({ manager })], providers: [EventsGateway] })
    class AppModule {}
    await startApp(c, AppModule, (app) => app.useWebSocketAdapter(new SessionIoAdapter(app, { credentialsRequired: false } as never)));
    assert.unreachable('the app started');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID');
    assert.match((error as Error).message, /^attachSessionGuard: credentialsRequired is not an option/);
  } finally {
    await c.run();
  }
});

S.run();

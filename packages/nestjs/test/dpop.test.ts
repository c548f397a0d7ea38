import './support.js';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { DpopNonces } from '@jwt-session/session-core';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { io } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JwtSessionModule, SessionAuth, SessionAuthGuard, type JwtSessionModuleOptions } from '../src/index.js';
import { SessionIoAdapter } from '../src/socket-io.js';
import { handProof, makeKey, panvaKey, panvaProof } from '../../socketio-adapter/test/dpop-support.js';
import { Cleanup, makeManager, startApp } from './support.js';

/*
 * RFC 9449 at the Nest guard and gateway: the module's `dpop` option (the
 * same as httpAuth's and @jwt-session/http's) applies to SessionAuthGuard and
 * to SessionIoAdapter's handshakes.
 */

const S = suite('NestJS with DPoP (SessionAuthGuard, SessionIoAdapter)');

@Controller('api')
class MeController {
  @Get('me')
  @UseGuards(SessionAuthGuard)
  me(@SessionAuth('userId') userId: string) {
    return { userId };
  }
}

@WebSocketGateway()
class EventsGateway {
  @UseGuards(SessionAuthGuard)
  @SubscribeMessage('whoami')
  whoami(@SessionAuth('userId') userId: string) {
    return userId;
  }
}

async function start(c: Cleanup, extra: Partial<JwtSessionModuleOptions['dpop']> = {}) {
  const manager = makeManager(c);
  const replayCache = new MemoryDpopReplayCache();
  c.add(() => replayCache.close());
  const errors: string[] = [];
  @Module({ imports: [JwtSessionModule.forRoot({ manager, dpop: { replayCache, ...extra }, onError: (e) => errors.push(e.reason) })], controllers: [MeController], providers: [EventsGateway] })
  class AppModule {}
  const { url } = await startApp(c, AppModule, (app) => app.useWebSocketAdapter(new SessionIoAdapter(app)));
  return { manager, url, errors };
}

S('HTTP: a bound token passes with its proof (panva dpop), and each broken rule is refused with the DPoP challenge', async () => {
  const c = new Cleanup();
  try {
    const { manager, url, errors } = await start(c);
    const me = `${url}/api/me`;
    const panva = await panvaKey();
    const { accessToken: token } = await manager.create('alice', { dpop: { jkt: panva.jkt } });
    const ok = await fetch(me, { headers: { authorization: `DPoP ${token}`, dpop: await panvaProof(panva, me, 'GET', token) } });
    assert.equal([ok.status, await ok.json()], [200, { userId: 'alice' }]);

    const key = makeKey();
    const { accessToken } = await manager.create('carol', { dpop: { jkt: key.jkt } });
    const proof = (o: Partial<Parameters<typeof handProof>[1]> = {}) => handProof(key, { htm: 'GET', htu: me, accessToken, ...o });
    const replayedProof = proof();
    assert.is((await fetch(me, { headers: { authorization: `DPoP ${accessToken}`, dpop: replayedProof } })).status, 200);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ authorization: `Bearer ${accessToken}`, dpop: proof() }, 'ERR_DPOP_BINDING_MISMATCH', 'binding'],
      [{ authorization: `DPoP ${accessToken}` }, 'ERR_DPOP_BINDING_MISMATCH', 'binding'],
      [{ authorization: `DPoP ${accessToken}`, dpop: proof({ htm: 'POST' }) }, 'ERR_DPOP_PROOF_INVALID', 'htm'],
      [{ authorization: `DPoP ${accessToken}`, dpop: proof({ htu: `${url}/me` }) }, 'ERR_DPOP_PROOF_INVALID', 'htu'],
      [{ authorization: `DPoP ${accessToken}`, dpop: proof({ accessToken: token }) }, 'ERR_DPOP_PROOF_INVALID', 'ath'],
      [{ authorization: `DPoP ${accessToken}`, dpop: proof({ iat: Math.floor(Date.now() / 1000) - 300 }) }, 'ERR_DPOP_PROOF_INVALID', 'iat'],
      [{ authorization: `DPoP ${accessToken}`, dpop: handProof(makeKey(), { htm: 'GET', htu: me, accessToken }) }, 'ERR_DPOP_BINDING_MISMATCH', 'binding'],
      [{ authorization: `DPoP ${accessToken}`, dpop: `${proof()}, ${proof()}` }, 'ERR_DPOP_PROOF_INVALID', 'multiple_headers'],
      [{ authorization: `DPoP ${accessToken}`, dpop: replayedProof }, 'ERR_DPOP_PROOF_INVALID', 'replayed'],
    ];
    for (const [headers, code, reason] of cases) {
      const answer = await fetch(me, { headers });
      assert.is(answer.status, 401, reason);
      assert.is(((await answer.json()) as { error: string }).error, code, reason);
      assert.is(answer.headers.get('www-authenticate'), 'DPoP error="invalid_dpop_proof", algs="ES256"');
      assert.is(errors.at(-1), reason);
    }
    // Unbound sessions keep working with Bearer.
    const { accessToken: plain } = await manager.create('bob');
    assert.is((await fetch(me, { headers: { authorization: `Bearer ${plain}` } })).status, 200);
  } finally {
    await c.run();
  }
});

S('HTTP: server nonces, 401 use_dpop_nonce with DPoP-Nonce, then the retry passes', async () => {
  const c = new Cleanup();
  try {
    const { manager, url } = await start(c, { nonces: new DpopNonces({ secret: 'n'.repeat(32) }) });
    const me = `${url}/api/me`;
    const key = makeKey();
    const { accessToken } = await manager.create('alice', { dpop: { jkt: key.jkt } });
    const first = await fetch(me, { headers: { authorization: `DPoP ${accessToken}`, dpop: handProof(key, { htm: 'GET', htu: me, accessToken }) } });
    assert.is(first.status, 401);
    assert.is(first.headers.get('www-authenticate'), 'DPoP error="use_dpop_nonce", algs="ES256"');
    const nonce = first.headers.get('dpop-nonce')!;
    const retry = await fetch(me, { headers: { authorization: `DPoP ${accessToken}`, dpop: handProof(key, { htm: 'GET', htu: me, accessToken, nonce }) } });
    assert.is(retry.status, 200);
  } finally {
    await c.run();
  }
});

S('gateway: the module’s dpop applies to handshakes; a bound token connects with auth.dpop, not without', async () => {
  const c = new Cleanup();
  try {
    const { manager, url } = await start(c);
    const key = makeKey();
    const { accessToken } = await manager.create('alice', { dpop: { jkt: key.jkt } });
    const connectWith = (auth: Record<string, unknown>) => {
      const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
      c.add(() => socket.disconnect());
      return new Promise<{ socket: typeof socket; code?: string }>((resolve) => {
        socket.once('connect', () => resolve({ socket }));
        socket.once('connect_error', (error: Error & { data?: { code: string } }) => resolve({ socket, code: error.data?.code ?? 'none' }));
      });
    };
    assert.is((await connectWith({ token: accessToken })).code, 'ERR_DPOP_BINDING_MISMATCH');
    const { socket, code } = await connectWith({ token: accessToken, dpop: handProof(key, { htm: 'GET', htu: `${url}/socket.io/`, accessToken }) });
    assert.is(code, undefined);
    assert.is(await socket.emitWithAck('whoami'), 'alice');
  } finally {
    await c.run();
  }
});

S.run();

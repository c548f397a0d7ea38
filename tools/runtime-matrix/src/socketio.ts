// The Socket.IO guard with a real client, on whatever runtime runs this bundle (Bun).
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { AUDIENCE, check, expect, ISSUER, SECRET } from './report.js';

function outcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => resolve(error.data?.code ?? error.message));
  });
}

await check('Socket.IO guard: handshake refused without a token, accepted with one, disconnected on revocation', async () => {
  const store = new MemoryRefreshTokenStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({ keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, refreshTokenStore: store, invalidAccessTokenCache: cache });
  const http = createServer();
  const io = new Server(http);
  const guard = attachSessionGuard(io, manager);
  const sockets: Socket[] = [];
  try {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = (token?: string) => {
      const socket = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token === undefined ? {} : { token } });
      sockets.push(socket);
      return socket;
    };
    expect((await outcome(client())) === 'ERR_AUTH_TOKEN_REQUIRED', 'refused without a token');
    const tokens = await manager.create('carol');
    const socket = client(tokens.accessToken);
    expect((await outcome(socket)) === 'connected', 'accepted with a token');
    const gone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await manager.deleteOne('carol', tokens.sessionId);
    const reason = await Promise.race([gone, new Promise<string>((resolve) => setTimeout(() => resolve('still connected after 3 s'), 3000))]);
    expect(reason === 'io server disconnect', `after revocation: ${reason}`);
  } finally {
    for (const socket of sockets) socket.disconnect();
    guard.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
    await manager.close();
    await store.close();
    cache.close();
  }
});

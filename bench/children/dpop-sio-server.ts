/**
 * Case P2 server process: two Socket.IO servers, the same in every way but
 * their middleware. `guarded`: attachSessionGuard(io, manager, { dpop }) with
 * an in-memory replay cache; `floor`: the least a guard does (lib/floors.ts
 * guardFloor) plus one bare ES256 `crypto.verify` of the handshake's proof
 * with the client's key imported once — what a DPoP handshake must cost at
 * least. The client's public JWK comes in argv[2]. Reports the ports, then
 * answers `cpu` with process.cpuUsage().
 */
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { childMain, send } from '../lib/child-side.js';
import { guardFloor } from '../lib/floors.js';

async function listen(io: Server): Promise<number> {
  const http = createServer();
  io.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

childMain(async () => {
  const clientKey = createPublicKey({ key: JSON.parse(process.argv[2]!) as import('node:crypto').JsonWebKey, format: 'jwk' });
  const manager = memoryManager(keySet('HS256'));
  await manager.ready();
  const guarded = new Server({ transports: ['websocket'] });
  attachSessionGuard(guarded, manager, { dpop: { replayCache: new MemoryDpopReplayCache() } });
  const floor = new Server({ transports: ['websocket'] });
  const floorGuard = guardFloor(keySet('HS256').signKey);
  floor.use((socket, next) => {
    const proof = (socket.handshake.auth as { dpop: string }).dpop;
    const dot = proof.lastIndexOf('.');
    if (!verify('sha256', Buffer.from(proof.slice(0, dot)), { key: clientKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(proof.slice(dot + 1), 'base64url'))) {
      next(new Error('floor: proof signature'));
      return;
    }
    floorGuard(socket, next);
  });
  let accepted = 0;
  for (const io of [guarded, floor]) io.on('connection', () => void accepted++);
  const ports = { guarded: await listen(guarded), floor: await listen(floor) };
  process.on('message', (m) => {
    if ((m as { type: string }).type === 'cpu') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'cpu', micros: user + system, accepted });
    }
  });
  await send({ type: 'ready', ...ports });
}, false);

/**
 * Case 6 server process: four Socket.IO servers in this one process, the same
 * in every way except that one has attachSessionGuard(io, manager), one a
 * no-op middleware that defers next() by one event-loop turn (a reference) and
 * one the least a guard can do (lib/floors.ts guardFloor). Reports
 * their ports, then answers `cpu` requests with process.cpuUsage() so the
 * parent can charge server CPU time to each measurement.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
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
  const manager = memoryManager(keySet('HS256'));
  await manager.ready();
  const guarded = new Server({ transports: ['websocket'] });
  attachSessionGuard(guarded, manager);
  const plain = new Server({ transports: ['websocket'] });
  // Reference: no auth work at all, only a middleware that calls next() one event-loop turn later, as any
  // verification that completes off the main thread (WebCrypto runs on the libuv pool) must.
  const deferred = new Server({ transports: ['websocket'] });
  deferred.use((_socket, next) => void setImmediate(next));
  const floor = new Server({ transports: ['websocket'] });
  floor.use(guardFloor(keySet('HS256').signKey));
  let accepted = 0;
  for (const io of [guarded, plain, deferred, floor]) io.on('connection', () => void accepted++);
  const ports = { guarded: await listen(guarded), plain: await listen(plain), deferred: await listen(deferred), floor: await listen(floor) };
  process.on('message', (m) => {
    if ((m as { type: string }).type === 'cpu') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'cpu', micros: user + system, accepted });
    }
  });
  await send({ type: 'ready', ...ports });
}, false);

/**
 * Case 6 server process: two Socket.IO servers in this one process, the same
 * in every way except that one has attachSessionGuard(io, manager). Reports
 * their ports, then answers `cpu` requests with process.cpuUsage() so the
 * parent can charge server CPU time to each measurement.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { childMain, send } from '../lib/child-side.js';

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
  let accepted = 0;
  for (const io of [guarded, plain]) io.on('connection', () => void accepted++);
  const ports = { guarded: await listen(guarded), plain: await listen(plain) };
  process.on('message', (m) => {
    if ((m as { type: string }).type === 'cpu') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'cpu', micros: user + system, accepted });
    }
  });
  await send({ type: 'ready', ...ports });
}, false);

/**
 * The Socket.IO guard's per-event check taken alone: a real guarded server
 * and a real client connected to it; the packet middleware the guard put on
 * the server-side socket (`socket.use`) is then called directly, N times, with
 * an event packet, against an empty middleware. Prints ns per event (CPU).
 * Run: node --import tsx bench/profile/socketio-event-check.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as client } from 'socket.io-client';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';

const manager = memoryManager(keySet('HS256'));
await manager.ready();
const [token] = await mintTokens(keySet('HS256'), 1);
const io = new Server({ transports: ['websocket'] });
const guard = attachSessionGuard(io, manager);
const http = createServer();
io.attach(http);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const connected = new Promise<Socket>((resolve) => io.on('connection', resolve));
const c = client(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'], auth: { token } });
const socket = await connected;
type Middleware = (packet: unknown[], next: (err?: Error) => void) => void;
const fns = (socket as unknown as { fns: Middleware[] }).fns;
if (fns.length !== 1) throw new Error(`expected the guard's one packet middleware, found ${fns.length}`);
const variants: Record<string, Middleware> = { guard: fns[0]!, empty: (_packet, next) => next() };
const N = 2_000_000;
const packet = ['message', { text: 'hi' }];
let passed = 0;
const next = (err?: Error) => {
  if (err === undefined) passed++;
};
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) fn(packet, next);
    const used = process.cpuUsage(c0);
    if (round === 2) console.log(`${name.padEnd(6)} ${(((used.user + used.system) * 1000) / N).toFixed(1)} ns/event`);
  }
}
if (passed !== 6 * N) throw new Error(`${6 * N - passed} events refused`);
c.close();
guard.close();
await io.close();
await manager.close();

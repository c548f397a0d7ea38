/**
 * Case 6 taken apart: the same server with one layer at a time, clients in a
 * child (bare WebSockets, 50 in flight), no profiler. Modes: plain (no
 * middleware), async (a middleware deferring next() by a microtask), read (a
 * middleware that is only manager.read() of the handshake token), auth
 * (socketAuth: read, context, rooms), guard (attachSessionGuard), floor
 * (lib/floors.ts: the least a guard can do). Tokens: hits (each client its
 * own) or fresh (a new one per handshake). Run:
 *   node --import tsx bench/profile/socketio-layers.ts <mode> [hits|fresh]
 * Prints handshakes/s and server CPU µs per handshake.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard, socketAuth } from '@jwt-session/socketio-adapter';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { Child } from '../lib/child.js';
import { guardFloor } from '../lib/floors.js';
const mode = process.argv[2] ?? 'plain';
const manager = memoryManager(keySet('HS256'));
await manager.ready();
const io = new Server({ transports: ['websocket'] });
if (mode === 'guard') attachSessionGuard(io, manager);
else if (mode === 'auth') io.use(socketAuth(manager));
else if (mode === 'read') io.use((socket, next) => void manager.read((socket.handshake.auth as { token: string }).token).then(() => next(), next));
else if (mode === 'floor') io.use(guardFloor(keySet('HS256').signKey));
else if (mode === 'async') io.use((_s, next) => void Promise.resolve().then(() => next()));
const http = createServer();
io.attach(http);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const port = (http.address() as AddressInfo).port;
const clients = new Child('ws-clients', [JSON.stringify({ port, ms: 4000, mode: process.argv[3] ?? 'hits' })]);
await clients.next('warm');
const c0 = process.cpuUsage();
const result = await clients.next('result');
const c = process.cpuUsage(c0);
const done = result.done as number;
console.log(`${mode}/${process.argv[3] ?? 'hits'}: ${(done / 4).toFixed(0)} handshakes/s, server CPU ${((c.user + c.system) / done).toFixed(0)} µs per handshake`);
await clients.stop();
process.exit(0);

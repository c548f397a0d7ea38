/**
 * Case 6 profile with the server alone in this process (clients in a child):
 *   node --import tsx bench/profile/socketio-server.ts [fresh|hits|plain|async-noop|timer-noop] && node bench/profile/summarize.mjs /tmp/socketio-server-<mode>.cpuprofile
 * Prints server CPU µs per handshake (process.cpuUsage, all threads of this process).
 * Compare two modes with: node bench/profile/diff.mjs A.cpuprofile nA B.cpuprofile nB
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { Child } from '../lib/child.js';
import { profiled } from './inspect.js';

const mode = process.argv[2] ?? 'fresh';
const manager = memoryManager(keySet('HS256'));
await manager.ready();
const io = new Server({ transports: ['websocket'] });
if (mode === 'async-noop') io.use((_socket, next) => void Promise.resolve().then(() => next()));
else if (mode === 'timer-noop') io.use((_socket, next) => void setImmediate(() => next()));
else if (mode !== 'plain') attachSessionGuard(io, manager);
const http = createServer();
io.attach(http);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const port = (http.address() as AddressInfo).port;
const clients = new Child('ws-clients', [JSON.stringify({ port, ms: 5000, mode: mode === 'fresh' ? 'fresh' : 'hits' })]);
await clients.next('warm');
const c0 = process.cpuUsage();
const result = await profiled(`/tmp/socketio-server-${mode}.cpuprofile`, () => clients.next('result'));
const c = process.cpuUsage(c0);
const done = result.done as number;
console.log(`${mode}: ${done} handshakes in 5 s, server CPU ${((c.user + c.system) / done).toFixed(0)} µs per handshake (user ${(c.user / done).toFixed(0)}, system ${(c.system / done).toFixed(0)})`);
await clients.stop();
process.exit(0);

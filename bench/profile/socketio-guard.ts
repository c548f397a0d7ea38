/**
 * Profile target for case 6: a guarded Socket.IO server and 50 bare-WebSocket
 * clients in one process, each client re-presenting its own token (cache
 * hits), so the profile shows the guard's own work per handshake. Run:
 *   node --import tsx bench/profile/socketio-guard.ts [fresh|hits|plain] && node bench/profile/summarize.mjs /tmp/socketio-guard-<mode>.cpuprofile
 * Prints CPU µs per handshake (process.cpuUsage, all threads) for comparing modes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { attachSessionGuard } from '@jwt-session/socketio-adapter';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';
import { wsHandshake } from '../lib/ws-handshake.js';
import { profiled } from './inspect.js';

const mode = process.argv[2] ?? 'hits';
const fresh = mode === 'fresh';
const keys = keySet('HS256');
const manager = memoryManager(keys);
await manager.ready();
const io = new Server({ transports: ['websocket'] });
if (mode !== 'plain') attachSessionGuard(io, manager);
const http = createServer();
io.attach(http);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const port = (http.address() as AddressInfo).port;
const tokens = await mintTokens(keys, fresh ? 20_000 : 50);
let next = 0;

const handshake = (token: string) => wsHandshake(port, token);
const run = async (ms: number) => {
  const deadline = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: 50 }, async (_, w) => {
      while (performance.now() < deadline) {
        await handshake(fresh ? tokens[next++ % tokens.length]! : tokens[w]!);
        done++;
      }
    }),
  );
  return done;
};
await run(1000);
const c0 = process.cpuUsage();
const done = await profiled(`/tmp/socketio-guard-${mode}.cpuprofile`, () => run(4000));
const c = process.cpuUsage(c0);
console.log(`${mode}: ${done} handshakes in 4 s, ${((c.user + c.system) / done).toFixed(0)} µs CPU per handshake (clients and server together)`);
process.exit(0);

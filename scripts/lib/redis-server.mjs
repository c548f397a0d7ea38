// A throwaway redis-server on a free loopback port, for the scripts that run
// outside the test suites (consumer-check.mjs, runtimes.mjs); the suites use
// tools/redis-harness.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A port free on 127.0.0.1 at the time of asking. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Resolves once it answers PING: `{ child, url }`; the caller kills `child`. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failedToStart = new Promise((resolve) => child.once('error', (error) => resolve(error)));
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const error = await Promise.race([failedToStart, new Promise((resolve) => setTimeout(() => resolve(undefined), 50))]);
    if (error) throw new Error(`redis-server could not start: ${error.message}`);
    if (await ping(port)) return { child, url: `redis://127.0.0.1:${port}` };
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING within 10 s');
}

/**
 * Load generator for profiling case 6 (bench/profile/socketio-server.ts):
 * 50 bare-WebSocket Socket.IO handshakes in flight against argv port for argv ms,
 * fresh tokens (argv mode "fresh") or one token per client ("hits").
 * argv: JSON { port: number, ms: number, mode: 'fresh' | 'hits' }
 */
import WebSocket from 'ws';
import { keySet, mintTokens } from '../lib/fixtures.js';
import { childMain, send } from '../lib/child-side.js';

const { port, ms, mode } = JSON.parse(process.argv[2]!) as { port: number; ms: number; mode: 'fresh' | 'hits' };

function handshake(token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`);
      else if (text.startsWith('40')) (ws.close(), resolve());
      else if (text.startsWith('44')) (ws.close(), reject(new Error(text)));
    });
    ws.on('error', reject);
  });
}

childMain(async () => {
  const tokens = await mintTokens(keySet('HS256'), mode === 'fresh' ? 60_000 : 50);
  let next = 0;
  const run = async (duration: number) => {
    const deadline = performance.now() + duration;
    let done = 0;
    await Promise.all(
      Array.from({ length: 50 }, async (_, w) => {
        while (performance.now() < deadline) {
          await handshake(mode === 'fresh' ? tokens[next++ % tokens.length]! : tokens[w]!);
          done++;
        }
      }),
    );
    return done;
  };
  await run(2000);
  await send({ type: 'warm' });
  await send({ type: 'result', done: await run(ms) });
}, true);

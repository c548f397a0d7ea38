/**
 * Load generator for profiling case 6 (bench/profile/socketio-server.ts):
 * 50 bare-WebSocket Socket.IO handshakes in flight against argv port for argv ms,
 * fresh tokens (argv mode "fresh") or one token per client ("hits").
 * argv: JSON { port: number, ms: number, mode: 'fresh' | 'hits' }
 */
import { keySet, mintTokens } from '../lib/fixtures.js';
import { childMain, send } from '../lib/child-side.js';
import { wsHandshake } from '../lib/ws-handshake.js';

const { port, ms, mode } = JSON.parse(process.argv[2]!) as { port: number; ms: number; mode: 'fresh' | 'hits' };

const handshake = (token: string) => wsHandshake(port, token);

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

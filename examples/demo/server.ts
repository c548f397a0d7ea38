// `pnpm demo`: starts one demo node and prints its URL.
//   PORT=3000            port to listen on (default 3000)
//   HOST=127.0.0.1       interface to bind (0.0.0.0 to expose it)
//   REDIS_URL=redis://…  cluster mode: Redis storage, broadcaster and Socket.IO adapter
//   DATABASE_URL=postgres://…  cluster mode on PostgreSQL: store, LISTEN/NOTIFY broadcaster, Socket.IO adapter (migrated at start)
//   DEMO_SECRET=…        signing secret shared by every node (≥ 32 bytes; a fixed dev default otherwise)
//   ACCESS_TOKEN_TTL=60  access-token lifetime in seconds
//   REFRESH_REUSE_INTERVAL=0  seconds a spent refresh token still counts (see README: plain http from another machine)
//   TRUST_PROXY=1        take the client address from X-Forwarded-For
//   DEMO_ORIGINS=…       extra allowed origins (comma-separated), e.g. a proxy's public URL
//   METRICS=1            the library's OpenTelemetry metrics at GET /metrics (Prometheus text)
import { startDemo } from './app.js';

try {
  const demo = await startDemo();
  console.log(`jwt-session demo (${demo.storage} storage) listening on ${demo.url}`);
  if (!process.env.DEMO_SECRET) console.log('Using the built-in development signing secret: set DEMO_SECRET for anything but a local demo.');
  console.log('Open it in two browsers (or a normal and a private window), sign in, and revoke one from the other. Ctrl+C stops it.');
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  const code = (error as { code?: unknown }).code;
  console.error(
    code === 'EADDRINUSE' ? 'That port is taken: set PORT to another one, e.g. PORT=3001 pnpm demo' : `The demo could not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}

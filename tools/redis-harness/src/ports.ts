import { createServer } from 'node:net';

const taken = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port nobody listens on, never 6379. Cluster nodes also need port + 10000
 * for their bus, so the range stays below 55535 and both are checked. Ports
 * handed out once are not handed out again by this process, so two servers
 * started back to back never race for the same one.
 */
export async function freePort(options: { withBusPort?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (port === 6379 || taken.has(port)) continue;
    if (!(await isFree(port))) continue;
    if (options.withBusPort && !(await isFree(port + 10000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port found');
}

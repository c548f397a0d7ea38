/**
 * The server process of the http-guards group (cases H*): the apps of
 * lib/http-apps.ts named in argv[2] (a JSON array; all by default), each on
 * its own port. Reports the ports, then answers `cpu` with
 * process.cpuUsage() so the parent can charge server CPU time to each run.
 */
import { childMain, send } from '../lib/child-side.js';
import { HTTP_APPS, startHttpApps, type HttpApp } from '../lib/http-apps.js';

childMain(async () => {
  const kinds = process.argv[2] === undefined ? HTTP_APPS : (JSON.parse(process.argv[2]) as HttpApp[]);
  const { ports } = await startHttpApps(kinds);
  process.on('message', (m) => {
    if ((m as { type: string }).type === 'cpu') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'cpu', micros: user + system });
    }
  });
  await send({ type: 'ready', ports });
}, false);

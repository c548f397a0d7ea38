import { startRedis } from '@jwt-session/redis-harness';
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep } from './helpers.js';

/* The harness the other suites stand on: it must never leave a server or a temp dir behind, whatever happens to the test. */
const CRASH = fileURLToPath(new URL('./fixtures/crash.ts', import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it holds no port and no memory, so it counts as gone.
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

const S = suite('redis-harness');

S('stop() kills the server and removes its temp dir; restart() comes back empty on the same port', async () => {
  const server = await startRedis();
  assert.is.not(server.port, 6379);
  assert.is(await server.command('SET', 'k', 'v'), 'OK');
  const port = server.port;
  await server.restart();
  assert.is(server.port, port);
  assert.is(await server.command('GET', 'k'), null);
  const { pid, dir } = server;
  await server.stop();
  await server.stop();
  assert.not.ok(alive(pid!), 'server still running');
  assert.not.ok(existsSync(dir), 'temp dir left behind');
  await server.restart().then(
    () => assert.unreachable('restarted a stopped server'),
    (error: Error) => assert.match(error.message, /stopped/),
  );
});

for (const how of ['throw', 'exit', 'signal']) {
  S(`a test process that ends by ${how} leaves no server and no temp dir`, async () => {
    const child = fork(CRASH, [how], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const info = await new Promise<{ pid: number; dir: string }>((resolve) => child.once('message', resolve as (m: unknown) => void));
    assert.ok(alive(info.pid));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (how === 'signal') child.kill('SIGTERM');
    await exited;
    await sleep(50);
    assert.not.ok(alive(info.pid), 'server survived its test process');
    assert.not.ok(existsSync(info.dir), 'temp dir survived its test process');
  });
}

S.run();

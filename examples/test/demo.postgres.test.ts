// The demo on PostgreSQL (DATABASE_URL) at the HTTP and Socket.IO level, two
// nodes on one database this file starts (tools/pg-harness): each node
// migrates at start; a session revoked through node A's endpoints drops its
// socket on node B within a second, its token is refused there, and a node
// started afterwards catches the revocation up from the table; chat crosses
// nodes through @socket.io/postgres-adapter. The same scenario runs in a
// browser in demo.browser.test.ts.
import { migrationSql } from '@jwt-session/storage-postgres';
import { startPostgres, type PostgresServer } from '@jwt-session/pg-harness';
import pg from 'pg';
import { io as ioClient, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemo, type DemoNode } from '../demo/app.js';

const CSRF = { 'x-jwt-session': '1' };
/** The revoked tab must be told within this many ms (issue 5, as in the browser test). */
const LIVE_SIGN_OUT_MS = 1000;

const S = suite('demo on PostgreSQL, two nodes');
let server: PostgresServer;
const nodes: DemoNode[] = [];
const sockets: Socket[] = [];

S.before(async () => {
  server = await startPostgres();
  // Two nodes starting at once: both migrate, one applies it.
  nodes.push(...(await Promise.all([0, 1].map(() => startDemo({ port: 0, host: '127.0.0.1', databaseUrl: server.url, log: false })))));
});
S.after(async () => {
  for (const socket of sockets) socket.disconnect();
  await Promise.allSettled(nodes.map((node) => node.close()));
  await server.stop();
});

interface Device {
  node: DemoNode;
  accessToken: string;
  sessionId: string;
}

async function signIn(node: DemoNode): Promise<Device> {
  const res = await fetch(`${node.url}/api/sign-in`, { method: 'POST', headers: { ...CSRF, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'wonderland' }) });
  assert.is(res.status, 200);
  const body = (await res.json()) as { accessToken: string; sessionId: string };
  return { node, ...body };
}

async function connect(device: Device): Promise<Socket> {
  const socket = ioClient(device.node.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: device.accessToken } });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

function next<T = unknown>(socket: Socket, event: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const me = (device: Device) => fetch(`${device.node.url}/api/me`, { headers: { authorization: `Bearer ${device.accessToken}` } });

S('both nodes run on PostgreSQL, migrated once; chat crosses nodes', async () => {
  const [a, b] = nodes as [DemoNode, DemoNode];
  assert.is(a.storage, 'postgres');
  assert.is(((await (await fetch(`${b.url}/api/about`)).json()) as { storage: string }).storage, 'postgres');
  const pool = new pg.Pool({ connectionString: server.url });
  pool.on('error', () => undefined);
  try {
    // Every migration once (migrationSql lists them), whichever node ran them.
    assert.equal((await pool.query('SELECT version FROM jwt_session.schema_migrations ORDER BY version')).rows, migrationSql().map((m) => ({ version: m.version })));
  } finally {
    await pool.end();
  }
  const onA = await signIn(a);
  const onB = await signIn(b);
  const socketA = await connect(onA);
  const socketB = await connect(onB);
  const heard = next<{ text: string; mine: boolean }>(socketB, 'chat:message');
  socketA.emit('chat:message', { text: 'hello from node A' }, () => undefined);
  const message = await heard;
  assert.equal([message.text, message.mine], ['hello from node A', false]);
});

S('a session revoked on node A: its socket on node B is told and dropped within a second, its token refused; a node started later refuses it too', async () => {
  const [a, b] = nodes as [DemoNode, DemoNode];
  const onA = await signIn(a);
  const onB = await signIn(b);
  await connect(onA);
  const socketB = await connect(onB);
  assert.is((await me(onB)).status, 200);
  const notice = next<{ reason: string }>(socketB, 'session:revoked');
  const dropped = next(socketB, 'disconnect');
  const started = Date.now();
  const res = await fetch(`${a.url}/auth/sessions/${onB.sessionId}`, { method: 'DELETE', headers: { ...CSRF, authorization: `Bearer ${onA.accessToken}` } });
  assert.is(res.status, 204);
  assert.equal(await notice, { reason: 'deleted', code: 'ERR_SESSION_REVOKED' });
  await dropped;
  const elapsed = Date.now() - started;
  console.log(`  [postgres] revoked socket on the other node dropped after ${elapsed} ms`);
  assert.ok(elapsed < LIVE_SIGN_OUT_MS, `dropped after ${elapsed} ms`);
  assert.is((await me(onB)).status, 401);
  assert.is((await me(onA)).status, 200);
  const late = await startDemo({ port: 0, host: '127.0.0.1', databaseUrl: server.url, log: false });
  nodes.push(late);
  assert.is((await me({ ...onB, node: late })).status, 401);
  assert.is((await me({ ...onA, node: late })).status, 200);
});

S('REDIS_URL and DATABASE_URL together are refused at start, naming both', async () => {
  try {
    await startDemo({ port: 0, host: '127.0.0.1', databaseUrl: server.url, redisUrl: 'redis://127.0.0.1:1', log: false });
    assert.unreachable('started with both');
  } catch (error) {
    assert.match((error as Error).message, /set REDIS_URL or DATABASE_URL, not both/);
  }
  try {
    await startDemo({ port: 0, host: '127.0.0.1', databaseUrl: 'postgres://demo:hunter2@127.0.0.1:1/x', log: false });
    assert.unreachable('started without a database');
  } catch (error) {
    assert.match((error as Error).message, /could not connect to PostgreSQL/);
    assert.not.match((error as Error).message, /hunter2/);
  }
});

S.run();

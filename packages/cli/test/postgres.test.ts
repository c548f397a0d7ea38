import { randomBytes } from 'node:crypto';
import { startPostgres, type PostgresServer } from '@jwt-session/pg-harness';
import { PostgresInvalidationBroadcaster, PostgresRefreshTokenStore, migrate, migrationSql } from '@jwt-session/storage-postgres';

const LATEST_VERSION = Math.max(...migrationSql().map((m) => m.version));
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appNodeOn, closeAll, connectSocket, later, next, type AppNode, type AppNodeOptions } from './node.js';
import { cli, codeOf, json, jsonError, runHere } from './support.js';

/*
 * The session commands and stats with --postgres, against a real PostgreSQL
 * this file starts (tools/pg-harness), and application nodes on
 * storage-postgres with a guarded Socket.IO server, as in production.
 */
const S = suite('PostgreSQL');
let server: PostgresServer;
let pool: pg.Pool;

S.before(async () => {
  server = await startPostgres();
  later(() => server.stop());
  pool = new pg.Pool({ connectionString: server.url });
  pool.on('error', () => undefined);
  later(() => pool.end());
});
S.after(closeAll);

async function freshSchema(): Promise<string> {
  const schema = `cli_${randomBytes(5).toString('hex')}`;
  await migrate(pool, { schema });
  return schema;
}

/** An application node on the schema: its own pool, store and broadcaster. */
async function pgNode(schema: string, options: AppNodeOptions = {}): Promise<AppNode> {
  const own = new pg.Pool({ connectionString: server.url });
  own.on('error', () => undefined);
  later(() => own.end());
  const broadcaster = new PostgresInvalidationBroadcaster(own, { schema, listenClient: () => new pg.Client(server.url) });
  return appNodeOn(new PostgresRefreshTokenStore(own, { schema }), broadcaster, options);
}

const flags = (schema: string) => ['--postgres', server.url, '--schema', schema];

S('sessions list: the live sessions, newest first, as a table and as JSON; no secret in either', async () => {
  const schema = await freshSchema();
  const { manager } = await pgNode(schema);
  const first = await manager.create('alice', { context: { ip: '203.0.113.7', userAgent: 'Firefox 140 on macOS' } });
  const second = await manager.create('alice', { context: { ip: '198.51.100.2' } });
  await manager.create('bob');
  const result = await cli(['sessions', 'list', 'alice', ...flags(schema), '--json']);
  assert.is(result.code, 0, result.stderr);
  const listed = json<{ subject: string; sessions: { sessionId: string; context: Record<string, string> }[] }>(result);
  assert.equal(listed.sessions.map((s) => s.sessionId), [second.sessionId, first.sessionId]);
  assert.equal(listed.sessions[1]!.context, { ip: '203.0.113.7', userAgent: 'Firefox 140 on macOS' });
  const human = await runHere(['sessions', 'list', 'alice', ...flags(schema)]);
  assert.is(human.code, 0, human.stderr);
  const lines = human.stdout.trim().split('\n');
  assert.match(lines[0]!, /^SESSION +CREATED +LAST REFRESHED +EXPIRES +CONTEXT$/);
  assert.match(lines[3]!, /^2 live sessions for alice$/);
  for (const output of [result.stdout, human.stdout]) {
    for (const t of [first, second]) {
      assert.not.ok(output.includes(t.refreshToken.split('.').at(-1)!), 'a refresh secret was printed');
      assert.not.ok(output.includes(t.accessToken), 'an access token was printed');
    }
  }
  // The default schema is jwt_session.
  await migrate(pool);
  assert.match((await runHere(['sessions', 'list', 'nobody', '--postgres', server.url])).stdout, /no live sessions for nobody/);
});

// The acceptance test on PostgreSQL: after the CLI revokes, a running node rejects the token and drops its socket at once.
S('sessions revoke: a running node drops the socket and rejects the token; a node started later rejects it too', async () => {
  const schema = await freshSchema();
  const node = await pgNode(schema, { io: true });
  const revoked = await node.manager.create('alice');
  const kept = await node.manager.create('alice');
  const socket = await connectSocket(node.url, revoked.accessToken);
  const other = await connectSocket(node.url, kept.accessToken);
  const notice = next<{ reason: string }>(socket, 'session:revoked');
  const dropped = next(socket, 'disconnect');

  const result = await cli(['sessions', 'revoke', 'alice', revoked.sessionId, ...flags(schema), '--json']);
  assert.is(result.code, 0, result.stderr);
  const out = json<{ found: boolean; scope: string; channel: string; stream?: string }>(result);
  assert.is(out.found, true);
  assert.is(out.scope, 'session');
  assert.is(out.channel, `jwt_session_${schema}`);
  assert.is(out.stream, undefined);

  assert.equal(await notice, { reason: 'deleted', code: 'ERR_SESSION_REVOKED' });
  await dropped;
  assert.is(await codeOf(node.manager.read(revoked.accessToken)), 'ERR_SESSION_REVOKED');
  assert.is(await codeOf(node.manager.update(revoked.refreshToken)), 'ERR_REFRESH_TOKEN_INVALID');
  assert.ok(other.connected);
  assert.is((await node.manager.read(kept.accessToken)).sid, kept.sessionId);
  // A node that starts after the revocation catches up from the revocations table.
  const late = await pgNode(schema);
  assert.is(await codeOf(late.manager.read(revoked.accessToken)), 'ERR_SESSION_REVOKED');

  const again = await runHere(['sessions', 'revoke', 'alice', revoked.sessionId, ...flags(schema), '--json']);
  assert.is(again.code, 1);
  assert.is(jsonError(again).error, 'ERR_SESSION_NOT_FOUND');
  const human = await runHere(['sessions', 'revoke', 'alice', kept.sessionId, ...flags(schema)]);
  assert.match(human.stdout, new RegExp(`published on the revocations table and channel jwt_session_${schema}\\)$`, 'm'));
});

S('sessions revoke --all: every socket of the subject dropped, every token rejected, later sessions work', async () => {
  const schema = await freshSchema();
  const node = await pgNode(schema, { io: true });
  const sessions = [await node.manager.create('carol'), await node.manager.create('carol')];
  const sockets = await Promise.all(sessions.map((s) => connectSocket(node.url, s.accessToken)));
  const drops = sockets.map((s) => next(s, 'disconnect'));
  const result = await runHere(['sessions', 'revoke', 'carol', '--all', ...flags(schema)]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /^revoked every session of carol: 2 live sessions deleted$/m);
  await Promise.all(drops);
  for (const s of sessions) assert.is(await codeOf(node.manager.read(s.accessToken)), 'ERR_SESSION_REVOKED');
  assert.equal(await node.manager.readAll('carol'), []);
  const fresh = await node.manager.create('carol');
  assert.is((await node.manager.read(fresh.accessToken)).sub, 'carol');
});

S('stats: sessions, subjects, receipts, revocations and disk use of the schema, as a table and as JSON', async () => {
  const schema = await freshSchema();
  const node = await pgNode(schema, { maxSessionsPerSubject: 3 });
  for (const subject of ['u1', 'u2', 'u3']) for (let n = 0; n < 3; n++) await node.manager.create(subject);
  await node.manager.create('u1'); // evicts one: a receipt
  const gone = await node.manager.create('u4');
  await node.manager.deleteOne('u4', gone.sessionId);
  const result = await cli(['stats', ...flags(schema), '--json']);
  assert.is(result.code, 0, result.stderr);
  const stats = json<any>(result);
  assert.is(stats.schema, schema);
  // The newest migration's version (migrationSql lists them all).
  assert.is(stats.version, LATEST_VERSION);
  assert.equal(stats.sessions, { live: 9, dead: 0 });
  assert.is(stats.subjects, 3);
  assert.is(stats.receipts, 1);
  assert.is(stats.revocations.rows, 2, 'the eviction and the delete');
  assert.is(stats.revocations.channel, `jwt_session_${schema}`);
  assert.ok(stats.revocations.oldestAgeMs >= 0 && stats.revocations.oldestAgeMs < 60_000, String(stats.revocations.oldestAgeMs));
  assert.ok(stats.bytes.sessions >= 8192 && stats.bytes.total === stats.bytes.sessions + stats.bytes.receipts + stats.bytes.revocations, JSON.stringify(stats.bytes));
  const human = await runHere(['stats', ...flags(schema)]);
  const lines = human.stdout.split('\n');
  const value = lines[0]!.indexOf('VALUE');
  assert.is(lines.find((l) => l.startsWith('sessions '))!.slice(value), '9');
  assert.is(lines.find((l) => l.startsWith('schema '))!.slice(value), `${schema} (version ${LATEST_VERSION})`);
  assert.match(lines.find((l) => l.startsWith('disk: total '))!.slice(value), /^\d+(\.\d)? (B|KiB|MiB)$/);
});

S('usage: one storage per command line, each with its own flags; a bad --schema; a schema never migrated', async () => {
  const schema = await freshSchema();
  const usageOf = async (args: string[]) => {
    const result = await runHere([...args, '--json']);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    return jsonError(result).message;
  };
  assert.match(await usageOf(['sessions', 'list', 'a', '--postgres', server.url, '--redis', 'redis://127.0.0.1:1']), /give --redis \(or --redis-env\) or --postgres, not both/);
  assert.match(await usageOf(['sessions', 'list', 'a', '--postgres', server.url, '--redis-env', 'SOME_URL']), /give --redis \(or --redis-env\) or --postgres, not both/);
  assert.match(await usageOf(['stats', '--postgres', server.url, '--prefix', 'x:']), /--cluster and --prefix go with --redis/);
  assert.match(await usageOf(['sessions', 'revoke', 'a', '--all', '--postgres', server.url, '--cluster']), /--cluster and --prefix go with --redis/);
  assert.match(await usageOf(['sessions', 'list', 'a', '--redis', 'redis://127.0.0.1:1', '--schema', schema]), /--schema goes with --postgres/);
  assert.match(await usageOf(['stats', '--postgres', server.url, '--schema', 'Robert"; DROP']), /--schema must be a lower-case identifier/);
  assert.match(await usageOf(['stats', '--postgres', 'mysql://127.0.0.1/x']), /--postgres must start with postgres:\/\//);
  assert.match(await usageOf(['stats', '--postgres', 'not a url']), /--postgres must be a URL/);
  // A stray % in the password: a usage error naming the part, never its text.
  const stray = await runHere(['sessions', 'list', 'a', '--postgres', 'postgres://u:hunter%2@127.0.0.1:1/db', '--json']);
  assert.is(stray.code, 2);
  assert.is(jsonError(stray).message, '--postgres: the password in the URL is not valid percent-encoding (write % as %25)');
  assert.not.ok(stray.stderr.includes('hunter'));
  // Nothing there to operate on: said, and nothing is created.
  const missing = await runHere(['sessions', 'list', 'a', '--postgres', server.url, '--schema', 'never_made', '--json']);
  assert.is(missing.code, 1);
  assert.equal(jsonError(missing), { error: 'ERR_OPERATION_FAILED', message: `sessions list: schema "never_made" holds no jwt-session tables (run migrate() first, or pass the application's --schema)` });
  assert.is((await pool.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'never_made'`)).rows[0].n, 0);
});

S.run();

const F = suite('PostgreSQL failures');

F('an unreachable PostgreSQL is ERR_POSTGRES_UNAVAILABLE, exit 1, promptly, in every command that takes it; the password never shown', async () => {
  for (const args of [['sessions', 'list', 'alice'], ['sessions', 'revoke', 'alice', '--all'], ['stats']]) {
    const result = await runHere([...args, '--postgres', 'postgres://user:hunter2@127.0.0.1:1/app', '--json']);
    assert.is(result.code, 1, args.join(' '));
    assert.equal(jsonError(result), { error: 'ERR_POSTGRES_UNAVAILABLE', message: 'cannot reach PostgreSQL at 127.0.0.1:1' });
    assert.not.ok(result.stderr.includes('hunter2'));
  }
  const spawned = await cli(['stats', '--postgres', 'postgresql://127.0.0.1:1/app'], { timeout: 20_000 });
  assert.is(spawned.code, 1);
  assert.is(spawned.stderr.trim(), 'error ERR_POSTGRES_UNAVAILABLE: cannot reach PostgreSQL at 127.0.0.1:1');
});

F.run();

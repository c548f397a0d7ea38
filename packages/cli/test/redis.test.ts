import { dpopReplayKey, isSessionError, type SessionError } from '@jwt-session/session-core';
import { RedisDpopReplayCache, RedisRefreshTokenStore } from '@jwt-session/storage-redis';
import { SignJWT } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appNode, backend, closeAll, connectSocket, next, uniquePrefix, type Backend } from './node.js';
import { cli, codeOf, json, jsonError, runHere } from './support.js';

/** Calls of `command` so far, summed over every master (INFO commandstats). */
async function commandCalls(b: Backend, command: string): Promise<number> {
  let total = 0;
  for (const node of b.masters()) {
    const info = await node.info('commandstats');
    total += Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  }
  return total;
}

for (const kind of ['standalone', 'cluster'] as const) {
  const S = suite(`${kind} Redis`);
  let b: Backend;

  S.before(async () => {
    b = await backend(kind);
  });
  S.after(closeAll);

  S('sessions list: the live sessions, newest first, as an aligned table and as JSON; no secret in either', async () => {
    const prefix = uniquePrefix();
    const { manager } = await appNode(b.client, prefix);
    const first = await manager.create('alice', { context: { ip: '203.0.113.7', userAgent: 'Firefox 140 on macOS' } });
    const second = await manager.create('alice', { context: { ip: '198.51.100.2' } });
    await manager.create('bob');
    const result = await cli(['sessions', 'list', 'alice', ...b.flags, '--prefix', prefix, '--json']);
    assert.is(result.code, 0, result.stderr);
    const listed = json<{ subject: string; sessions: { sessionId: string; context: Record<string, string> }[] }>(result);
    assert.is(listed.subject, 'alice');
    assert.equal(listed.sessions.map((s) => s.sessionId), [second.sessionId, first.sessionId]);
    assert.equal(listed.sessions[1]!.context, { ip: '203.0.113.7', userAgent: 'Firefox 140 on macOS' });
    const human = await runHere(['sessions', 'list', 'alice', ...b.flags, '--prefix', prefix]);
    assert.is(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.match(lines[0]!, /^SESSION +CREATED +LAST REFRESHED +EXPIRES +CONTEXT$/);
    // Aligned: every column starts at the same offset on every row.
    const column = lines[0]!.indexOf('CONTEXT');
    for (const line of lines.slice(1, 3)) assert.match(line.slice(column), /^ip=/);
    assert.match(lines[3]!, /^2 live sessions for alice$/);
    for (const output of [result.stdout, human.stdout]) {
      for (const t of [first, second]) {
        assert.not.ok(output.includes(t.refreshToken.split('.').at(-1)!), 'a refresh secret was printed');
        assert.not.ok(output.includes(t.accessToken), 'an access token was printed');
      }
    }
    assert.match((await runHere(['sessions', 'list', 'nobody', ...b.flags, '--prefix', prefix])).stdout, /no live sessions for nobody/);
  });

  // The acceptance test: after the CLI revokes, a running node rejects the token and drops its socket at once.
  S('sessions revoke: a running node drops the socket and rejects the token; a node started later rejects it too', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix, { io: true });
    const revoked = await node.manager.create('alice');
    const kept = await node.manager.create('alice');
    const socket = await connectSocket(node.url, revoked.accessToken);
    const other = await connectSocket(node.url, kept.accessToken);
    const notice = next<{ reason: string }>(socket, 'session:revoked');
    const dropped = next(socket, 'disconnect');

    const result = await cli(['sessions', 'revoke', 'alice', revoked.sessionId, ...b.flags, '--prefix', prefix, '--json']);
    assert.is(result.code, 0, result.stderr);
    const out = json<{ found: boolean; scope: string; stream: string }>(result);
    assert.is(out.found, true);
    assert.is(out.scope, 'session');
    assert.is(out.stream, `${prefix}{invalidations}`);

    assert.equal(await notice, { reason: 'deleted', code: 'ERR_SESSION_REVOKED' });
    await dropped;
    assert.is(await codeOf(node.manager.read(revoked.accessToken)), 'ERR_SESSION_REVOKED');
    assert.is(await codeOf(node.manager.update(revoked.refreshToken)), 'ERR_REFRESH_TOKEN_INVALID');
    // The other session of the same subject is untouched.
    assert.ok(other.connected);
    assert.is((await node.manager.read(kept.accessToken)).sid, kept.sessionId);
    // A node that starts after the revocation replays it from the stream.
    const late = await appNode(b.client, prefix);
    assert.is(await codeOf(late.manager.read(revoked.accessToken)), 'ERR_SESSION_REVOKED');

    const again = await runHere(['sessions', 'revoke', 'alice', revoked.sessionId, ...b.flags, '--prefix', prefix, '--json']);
    assert.is(again.code, 1);
    assert.is(jsonError(again).error, 'ERR_SESSION_NOT_FOUND');
    // Another subject's session id is not found under this subject, and stays alive.
    const bob = await node.manager.create('bob');
    assert.is((await runHere(['sessions', 'revoke', 'alice', bob.sessionId, ...b.flags, '--prefix', prefix])).code, 1);
    assert.is((await node.manager.read(bob.accessToken)).sub, 'bob');
  });

  S('sessions revoke --all: every socket of the subject dropped, every token rejected, later sessions work', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix, { io: true });
    const sessions = [await node.manager.create('carol'), await node.manager.create('carol')];
    const sockets = await Promise.all(sessions.map((s) => connectSocket(node.url, s.accessToken)));
    const drops = sockets.map((s) => next(s, 'disconnect'));
    const result = await runHere(['sessions', 'revoke', 'carol', '--all', ...b.flags, '--prefix', prefix]);
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, /^revoked every session of carol: 2 live sessions deleted$/m);
    await Promise.all(drops);
    for (const s of sessions) assert.is(await codeOf(node.manager.read(s.accessToken)), 'ERR_SESSION_REVOKED');
    assert.equal(await node.manager.readAll('carol'), []);
    const fresh = await node.manager.create('carol');
    assert.is((await node.manager.read(fresh.accessToken)).sub, 'carol');
  });

  S('token inspect --redis: whether the stream has revoked the token', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix);
    const t = await node.manager.create('dave');
    const env = { APP_SECRET: 'cli-tests-application-secret-0123456789' };
    const before = await cli(['token', 'inspect', '-', '--secret-env', 'APP_SECRET', ...b.flags, '--prefix', prefix, '--json'], { env, stdin: t.accessToken });
    assert.is(before.code, 0, before.stderr);
    assert.equal(json<any>(before).revocation, { checked: true, revoked: false, stream: `${prefix}{invalidations}` });
    assert.is(json<any>(before).verdict, 'valid');
    await node.manager.deleteOne('dave', t.sessionId);
    const after = await runHere(['token', 'inspect', t.accessToken, ...b.flags, '--prefix', prefix, '--json']);
    assert.is(after.code, 1);
    assert.is(json<any>(after).verdict, 'revoked');
    assert.is(json<any>(after).reason, 'session_revoked');
    assert.equal(Object.keys(json<any>(after).revocation).sort(), ['checked', 'revoked', 'stream']);
    const plain = (await runHere(['token', 'inspect', t.accessToken, ...b.flags, '--prefix', prefix])).stdout;
    assert.match(plain, /^revoked {4}YES, by an invalidation on /m);
    assert.match(plain, /^verdict {4}revoked \(reason: session_revoked\)$/m);
    // Subject-wide revocation covers tokens of sessions the CLI never saw.
    const t2 = await node.manager.create('dave');
    assert.is(json<any>(await runHere(['token', 'inspect', t2.accessToken, ...b.flags, '--prefix', prefix, '--json'])).verdict, 'unverified');
    await node.manager.deleteAll('dave');
    const everywhere = json<any>(await runHere(['token', 'inspect', t2.accessToken, ...b.flags, '--prefix', prefix, '--json']));
    assert.equal([everywhere.verdict, everywhere.reason], ['revoked', 'session_revoked'], 'deleteAll names the sessions it found');

    // Another provider's token (typ JWT, no sid, opaque jti): dated by iat against a subject revocation made by the CLI.
    const iat = Math.floor(Date.now() / 1000) - 5;
    const key = new TextEncoder().encode('provider-secret-provider-secret-0123');
    const external = await new SignJWT({ iss: 'https://sso.test', aud: 'api', sub: 'oscar', iat, exp: iat + 600, jti: '_____________________w' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(key);
    assert.equal(json<any>(await runHere(['token', 'inspect', external, ...b.flags, '--prefix', prefix, '--json'])).revocation.revoked, false);
    assert.is((await runHere(['sessions', 'revoke', 'oscar', '--all', ...b.flags, '--prefix', prefix])).code, 0);
    const subjectWide = json<any>(await runHere(['token', 'inspect', external, ...b.flags, '--prefix', prefix, '--json']));
    assert.equal([subjectWide.verdict, subjectWide.reason], ['revoked', 'subject_revoked']);
    const noSub = await new SignJWT({ iat, exp: iat + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const unchecked = await runHere(['token', 'inspect', noSub, ...b.flags, '--prefix', prefix]);
    assert.match(unchecked.stdout, /^revoked {4}not checked: the token has no sub/m);
  });

  S('stats: sessions, subjects, stream length and age, memory of the library\'s keys, with SCAN and never KEYS', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix);
    for (const subject of ['u1', 'u2', 'u3']) for (let n = 0; n < 3; n++) await node.manager.create(subject);
    const gone = await node.manager.create('u4');
    await node.manager.deleteOne('u4', gone.sessionId);
    await b.client.set(`${prefix}not-ours`, 'x');
    // Two DPoP proofs remembered by the replay cache: counted as the library's, not as foreign keys.
    const replay = new RedisDpopReplayCache(b.client as never, { keyPrefix: prefix });
    for (const jti of ['p1', 'p2']) assert.is(await replay.remember(dpopReplayKey({ jkt: 'A'.repeat(43), jti }), 60_000), 'fresh');
    // One subject's device history (issue 22): the library's too.
    assert.is(await new RedisRefreshTokenStore(b.client as never, { keyPrefix: prefix }).rememberDevice('u1', 'device-fingerprint-001', { now: Date.now(), ttl: 60_000, max: 5 }), 'first');
    const keysBefore = await commandCalls(b, 'keys');
    const scansBefore = await commandCalls(b, 'scan');
    const result = await cli(['stats', ...b.flags, '--prefix', prefix, '--json']);
    assert.is(result.code, 0, result.stderr);
    const stats = json<any>(result);
    assert.is(stats.masters, kind === 'cluster' ? 3 : 1);
    assert.is(stats.sessions, 9);
    assert.is(stats.subjects, 3);
    assert.is(stats.otherKeys, 1);
    assert.is(stats.stream.key, `${prefix}{invalidations}`);
    assert.is(stats.stream.length, 1);
    assert.ok(stats.stream.oldestAgeMs >= 0 && stats.stream.oldestAgeMs < 60_000, String(stats.stream.oldestAgeMs));
    assert.ok(stats.stream.ttlMs > 0);
    assert.ok(stats.memory.sessions > 9 * 20, JSON.stringify(stats.memory));
    assert.ok(stats.memory.stream > 0);
    assert.is(stats.receipts, 0);
    assert.is(stats.dpopProofs, 2);
    assert.ok(stats.memory.dpop > 0, JSON.stringify(stats.memory));
    assert.is(stats.deviceHistories, 1);
    assert.ok(stats.memory.devices > 0, JSON.stringify(stats.memory));
    assert.is(stats.memory.total, stats.memory.sessions + stats.memory.stream + stats.memory.receipt + stats.memory.dpop + stats.memory.devices);
    assert.is(await commandCalls(b, 'keys'), keysBefore, 'stats ran KEYS');
    assert.ok((await commandCalls(b, 'scan')) > scansBefore);

    const human = await runHere(['stats', ...b.flags, '--prefix', prefix]);
    const lines = human.stdout.split('\n');
    const value = lines[0]!.indexOf('VALUE');
    assert.is(lines.find((l) => l.startsWith('sessions '))!.slice(value), '9');
    assert.match(lines.find((l) => l.startsWith('memory: total '))!.slice(value), /^\d+(\.\d)? (B|KiB)$/);
    const empty = json<any>(await runHere(['stats', ...b.flags, '--prefix', uniquePrefix(), '--json']));
    assert.equal([empty.sessions, empty.subjects, empty.stream.length, empty.stream.oldestAgeMs, empty.stream.ttlMs], [0, 0, 0, null, null]);
    assert.match((await runHere(['stats', ...b.flags, '--prefix', 'a{b'])).stderr, /--prefix must not contain \{ or \}/);
  });

  // Guards #13: an insert that evicts leaves a receipt key `{tag}:x:<id>` for settleInsert; stats counted it as a
  // key that is not the library's. It is now reported as an insert receipt, with its memory.
  S('stats: the receipt an evicting insert leaves is counted as an insert receipt, not as another key', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix, { maxSessionsPerSubject: 1 });
    await node.manager.create('vera');
    await node.manager.create('vera');
    const result = await runHere(['stats', ...b.flags, '--prefix', prefix, '--json']);
    assert.is(result.code, 0, result.stderr);
    const stats = json<any>(result);
    assert.equal([stats.sessions, stats.subjects, stats.receipts, stats.otherKeys], [1, 1, 1, 0]);
    assert.ok(stats.memory.receipt > 0, JSON.stringify(stats.memory));
    assert.is(stats.memory.total, stats.memory.sessions + stats.memory.stream + stats.memory.receipt);
    const human = await runHere(['stats', ...b.flags, '--prefix', prefix]);
    const lines = human.stdout.split('\n');
    const value = lines[0]!.indexOf('VALUE');
    assert.is(lines.find((l) => l.startsWith('insert receipts '))!.slice(value), '1');
    assert.is(lines.find((l) => l.startsWith('other keys under prefix '))!.slice(value), '0');
  });

  // Guards the stream's retention: a publish trims entries older than the publisher's retention, so a CLI revoking with a
  // short --access-token-ttl must not drop an application's older invalidation that nodes started later still need.
  S('a revocation from the CLI never trims invalidations already in the stream', async () => {
    const prefix = uniquePrefix();
    const node = await appNode(b.client, prefix);
    const victim = await node.manager.create('erin');
    await node.manager.deleteAll('erin');
    const stream = `${prefix}{invalidations}`;
    // Make the application's entry look 60 s old: rewrite it with an older id (same fields).
    const [, fields] = (await b.client.xrange(stream, '-', '+'))[0]!;
    await b.client.del(stream);
    await b.client.xadd(stream, `${Date.now() - 60_000}-0`, ...fields!);
    await b.client.pexpire(stream, 3_600_000);
    const target = await node.manager.create('frank');
    const result = await runHere(['sessions', 'revoke', 'frank', target.sessionId, ...b.flags, '--prefix', prefix, '--access-token-ttl', '1']);
    assert.is(result.code, 0, result.stderr);
    assert.is(await b.client.xlen(stream), 2);
    const late = await appNode(b.client, prefix);
    assert.is(await codeOf(late.manager.read(victim.accessToken)), 'ERR_SESSION_REVOKED');
    assert.is(await codeOf(late.manager.read(target.accessToken)), 'ERR_SESSION_REVOKED');
  });

  // Guards #20.7: the password could only be given on the command line (ps shows it), and a % in it was ERR_INTERNAL.
  S('the URL from the environment (--redis-env VAR, $JWT_SESSION_REDIS_URL); a password with % and @, percent-encoded, works; raw, it is a usage error', async () => {
    const prefix = uniquePrefix();
    const { manager } = await appNode(b.client, prefix);
    await manager.create('ursula');
    const password = 'p%ss@w0rd-ops';
    for (const node of b.masters()) await node.call('ACL', 'SETUSER', 'cli-ops', 'on', `>${password}`, '~*', '&*', '+@all');
    try {
      const url = new URL(b.flags[1]!);
      url.username = 'cli-ops';
      url.password = encodeURIComponent(password);
      const cluster = b.flags.slice(2);
      const listed = (result: { code: number | null; stdout: string; stderr: string }) => {
        assert.is(result.code, 0, result.stderr);
        assert.is(json<{ sessions: unknown[] }>(result).sessions.length, 1);
      };
      listed(await cli(['sessions', 'list', 'ursula', '--redis-env', 'OPS_REDIS', ...cluster, '--prefix', prefix, '--json'], { env: { OPS_REDIS: url.href } }));
      listed(await runHere(['sessions', 'list', 'ursula', ...cluster, '--prefix', prefix, '--json'], { env: { JWT_SESSION_REDIS_URL: url.href } }));
      // --redis wins over the variable; --redis-env over it too.
      listed(await runHere(['sessions', 'list', 'ursula', '--redis', url.href, ...cluster, '--prefix', prefix, '--json'], { env: { JWT_SESSION_REDIS_URL: 'redis://127.0.0.1:1' } }));
      listed(await runHere(['sessions', 'list', 'ursula', '--redis-env', 'OPS', ...cluster, '--prefix', prefix, '--json'], { env: { OPS: url.href, JWT_SESSION_REDIS_URL: 'redis://127.0.0.1:1' } }));
      // Typed as it is, the password's % is not percent-encoding: a usage error naming where the URL came from.
      const raw = `redis://cli-ops:${password}@${url.host}`;
      for (const [args, env, source] of [
        [['--redis', raw], {}, '--redis'],
        [['--redis-env', 'OPS'], { OPS: raw }, '\\$OPS'],
        [[], { JWT_SESSION_REDIS_URL: raw }, '\\$JWT_SESSION_REDIS_URL'],
      ] as const) {
        const result = await runHere(['sessions', 'list', 'ursula', ...args, ...cluster, '--json'], { env });
        assert.is(result.code, 2, source);
        assert.is(jsonError(result).error, 'ERR_USAGE');
        assert.match(jsonError(result).message, new RegExp(`^${source}: the user name or password in the URL is not valid percent-encoding \\(write a % in it as %25\\)$`));
        assert.not.ok(result.stderr.includes('p%ss') || result.stderr.includes('w0rd'), source);
      }
    } finally {
      for (const node of b.masters()) await node.call('ACL', 'DELUSER', 'cli-ops');
    }
  });

  S.run();
}

const F = suite('failures');

F('an unreachable Redis is ERR_REDIS_UNAVAILABLE, exit 1, promptly, in every command that needs it', async () => {
  for (const args of [
    ['sessions', 'list', 'alice'],
    ['sessions', 'revoke', 'alice', '--all'],
    ['stats'],
    ['token', 'inspect', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'],
  ]) {
    const result = await runHere([...args, '--redis', 'redis://user:hunter2@127.0.0.1:1', '--json']);
    assert.is(result.code, 1, args.join(' '));
    const error = jsonError(result);
    assert.is(error.error, 'ERR_REDIS_UNAVAILABLE', args.join(' '));
    assert.is(error.message, 'cannot reach Redis at 127.0.0.1:1');
    assert.not.ok(result.stderr.includes('hunter2'));
  }
  // The same from the environment: the variable's URL is the one used, its password never shown.
  for (const env of [{ JWT_SESSION_REDIS_URL: 'redis://user:hunter2@127.0.0.1:1' }, { R: 'redis://user:hunter2@127.0.0.1:1' }]) {
    const result = await runHere(['stats', ...('R' in env ? ['--redis-env', 'R'] : []), '--json'], { env });
    assert.is(jsonError(result).error, 'ERR_REDIS_UNAVAILABLE');
    assert.is(jsonError(result).message, 'cannot reach Redis at 127.0.0.1:1');
    assert.not.ok(result.stderr.includes('hunter2'));
  }
  const spawned = await cli(['sessions', 'list', 'alice', '--redis', 'redis://127.0.0.1:1', '--cluster'], { timeout: 20_000 });
  assert.is(spawned.code, 1);
  assert.is(spawned.stderr.trim(), 'error ERR_REDIS_UNAVAILABLE: cannot reach Redis at 127.0.0.1:1 (cluster)');
});

F.run();

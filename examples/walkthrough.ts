/**
 * The whole life of a session on the embedded memory storage, one step at a
 * time: create → read → update → readAll → deleteOne → deleteOthers → deleteAll.
 * Run: pnpm example
 */
import { JwtUserSessionManager, SessionError } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import { randomBytes } from 'node:crypto';

const manager = new JwtUserSessionManager({
  keys: { kid: 'demo-key', algorithm: 'HS256', secret: randomBytes(32) },
  issuer: 'https://auth.example.test',
  audience: 'https://api.example.test',
  accessTokenTtl: 900,
  refreshTokenTtl: 30 * 24 * 3600,
  refreshTokenStore: new MemoryRefreshTokenStore(),
  invalidAccessTokenCache: new MemoryInvalidAccessTokenCache(),
});

/** Tokens are secrets: show only enough to tell them apart. */
const short = (token: string) => `${token.slice(0, 12)}…(${token.length} chars)`;
const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);
async function expectFailure(label: string, attempt: Promise<unknown>) {
  try {
    await attempt;
    console.log(`   ${label}: unexpectedly accepted`);
    process.exitCode = 1;
  } catch (error) {
    console.log(`   ${label}: rejected with ${error instanceof SessionError ? error.code : String(error)}`);
  }
}

step(1, 'create: alice signs in on her laptop');
const laptop = await manager.create('alice', { claims: { roles: ['admin'] }, context: { device: 'Laptop', ip: '203.0.113.10' } });
console.log(`   session ${laptop.sessionId}\n   access token  ${short(laptop.accessToken)} expires ${new Date(laptop.accessTokenExpiresAt * 1000).toISOString()}\n   refresh token ${short(laptop.refreshToken)} expires ${new Date(laptop.refreshTokenExpiresAt * 1000).toISOString()}`);

step(2, 'read: an API verifies the access token (no storage round trip)');
const claims = await manager.read(laptop.accessToken);
console.log(`   sub=${claims.sub} sid=${claims.sid} roles=${JSON.stringify(claims.roles)}`);

step(3, 'update: the laptop rotates its refresh token');
const rotated = await manager.update(laptop.refreshToken, { context: { ip: '203.0.113.11' } });
console.log(`   new refresh token ${short(rotated.refreshToken)} (same session ${rotated.sessionId})`);
await expectFailure('replaying the old refresh token', manager.update(laptop.refreshToken));
console.log('   (reuse revokes the whole session: a stolen token is caught when either party uses it)');

step(4, 'readAll: alice signs in again on two devices and lists her sessions');
const phone = await manager.create('alice', { context: { device: 'Phone', ip: '198.51.100.4' } });
const tablet = await manager.create('alice', { context: { device: 'Tablet', ip: '198.51.100.5' } });
for (const s of await manager.readAll('alice')) {
  console.log(`   ${s.sessionId}  ${String(s.context.device).padEnd(7)} ${s.context.ip}  created ${new Date(s.createdAt * 1000).toISOString()}`);
}

step(5, 'deleteOne: she revokes the phone');
console.log(`   deleted: ${await manager.deleteOne('alice', phone.sessionId)}`);
await expectFailure('the phone’s access token', manager.read(phone.accessToken));
console.log(`   the tablet still works: sub=${(await manager.read(tablet.accessToken)).sub}`);

step(6, 'deleteOthers: on the tablet, "sign out my other devices"');
const desktop = await manager.create('alice', { context: { device: 'Desktop', ip: '198.51.100.6' } });
console.log(`   sessions ended: ${await manager.deleteOthers('alice', tablet.sessionId)}`);
await expectFailure('the desktop’s access token', manager.read(desktop.accessToken));
console.log(`   the tablet still works: sub=${(await manager.read(tablet.accessToken)).sub}`);

step(7, 'deleteAll: "sign out everywhere"');
console.log(`   sessions ended: ${await manager.deleteAll('alice')}`);
await expectFailure('the tablet’s access token', manager.read(tablet.accessToken));
await expectFailure('the tablet’s refresh token', manager.update(tablet.refreshToken));
console.log(`   sessions left: ${(await manager.readAll('alice')).length}`);

await manager.close();

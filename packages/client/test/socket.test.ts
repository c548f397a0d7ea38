// The client with a real socket.io-client socket against the real session
// guard: the auth callback, session:renew after each refresh, reconnection
// after an expiry, and session:revoked turned into signedOut.
import { randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, type SignedOutReason } from '../src/index.js';
import type { RevocationReason } from '@jwt-session/socketio-adapter';
import { revokedReason } from '../src/socket.js';
import { Profile, until } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('socket');
let server: TestServer;
const cleanup: (() => void)[] = [];

S.before(async () => {
  server = await startTestServer({ accessTokenTtl: 3 });
});
S.after.each(() => {
  for (const step of cleanup.splice(0)) step();
});
S.after(async () => {
  await server.close();
});

async function signedInSocket(user: string, options: { autoRenew?: boolean } = {}) {
  const client = new SessionClient({ baseUrl: `${server.url}/auth`, fetch: new Profile().fetch, channel: `socket-${randomUUID()}` });
  const reasons: SignedOutReason[] = [];
  client.on('signedOut', ({ reason }) => reasons.push(reason));
  await client.signIn({ username: user, password: PASSWORD });
  const socket: Socket = connect(server.url, { auth: client.socketAuth, transports: ['websocket'], reconnectionDelay: 50 });
  const detach = options.autoRenew === false ? () => undefined : client.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.disconnect();
    client.close();
  });
  await until('the socket to connect', () => socket.connected);
  return { client, socket, reasons, detach };
}

async function serverSocketOf(sessionId: string) {
  const [socket] = await server.io.in(`session:${sessionId}`).fetchSockets();
  return socket;
}

S('the auth callback gives the current token; each refresh renews the socket in band (same socket)', async () => {
  const { client, socket } = await signedInSocket('sam');
  const sessionId = client.session!.sessionId;
  const before = await serverSocketOf(sessionId);
  const expiry = (before!.data as { auth: { expiresAt: number } }).auth.expiresAt;
  await new Promise((resolve) => setTimeout(resolve, 1100)); // a later second, so that exp moves
  await client.refresh();
  await until('the server to see the renewed expiry', async () => ((await serverSocketOf(sessionId))?.data as { auth: { expiresAt: number } }).auth.expiresAt > expiry);
  assert.is((await serverSocketOf(sessionId))!.id, before!.id);
  assert.ok(socket.connected);
});

S('scheduled renewals keep the socket past several access-token lifetimes', async () => {
  const { client, socket, reasons } = await signedInSocket('sue');
  const id = (await serverSocketOf(client.session!.sessionId))!.id;
  await new Promise((resolve) => setTimeout(resolve, 4500)); // past the first token's exp
  assert.ok(socket.connected);
  assert.is((await serverSocketOf(client.session!.sessionId))?.id, id);
  assert.equal(reasons, []);
});

S('a revoked session: session:revoked becomes signedOut("revoked"), the socket is closed', async () => {
  const { client, socket, reasons } = await signedInSocket('rex');
  await server.manager.deleteOne('rex', client.session!.sessionId);
  await until('signed out', () => reasons.length > 0);
  assert.equal(reasons, ['revoked']);
  assert.is(client.session, null);
  await until('the socket closed', () => !socket.connected);
});

S('this tab signing out: its own socket revocation reads as signed-out, once', async () => {
  const { client, socket, reasons } = await signedInSocket('sol');
  await client.signOut();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(reasons, ['signed-out']);
  assert.not.ok(socket.connected);
});

S('an expired socket (no renewal in time) is reconnected with a fresh token', async () => {
  // Not attached: the socket is not renewed, so the guard expires it at exp.
  const { client, socket } = await signedInSocket('eve', { autoRenew: false });
  const first = socket.id;
  const detach = client.attachSocket({
    get connected() {
      return socket.connected;
    },
    on: (event, fn) => socket.on(event, fn),
    off: (event, fn) => socket.off(event, fn),
    emit: () => undefined, // drops session:renew, as an old tab would
    connect: () => socket.connect(),
    disconnect: () => socket.disconnect(),
  });
  cleanup.push(detach);
  await until('a new connection after the expiry', () => socket.connected && socket.id !== first, 8000);
  assert.ok(client.session !== null);
});

S('a handshake refused as expired renews first, then reconnects', async () => {
  const client = new SessionClient({ baseUrl: `${server.url}/auth`, fetch: new Profile().fetch, channel: `socket-${randomUUID()}` });
  await client.signIn({ username: 'old', password: PASSWORD });
  const stale = await client.token();
  client.close(); // no scheduled renewal: the token we hold runs out
  await new Promise((resolve) => setTimeout(resolve, 3200));
  const rotations = server.rotations();
  let calls = 0;
  // The first handshake presents the expired token, as a tab waking from sleep would.
  const socket: Socket = connect(server.url, {
    auth: (cb) => (calls++ === 0 ? cb({ token: stale }) : client.socketAuth(cb)),
    transports: ['websocket'],
    reconnection: false,
  });
  const detach = client.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.disconnect();
    client.close();
  });
  await until('connected with a renewed token', () => socket.connected, 6000);
  assert.is(server.rotations(), rotations + 1);
  assert.is(calls, 2);
});

S('a handshake refused as revoked signs out with reason revoked', async () => {
  const client = new SessionClient({ baseUrl: `${server.url}/auth`, fetch: new Profile().fetch, channel: `socket-${randomUUID()}` });
  const reasons: SignedOutReason[] = [];
  client.on('signedOut', ({ reason }) => reasons.push(reason));
  const { sessionId } = await client.signIn({ username: 'gone', password: PASSWORD });
  await server.manager.deleteOne('gone', sessionId); // the client has not heard yet
  const socket: Socket = connect(server.url, { auth: client.socketAuth, transports: ['websocket'], reconnection: false });
  const detach = client.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.disconnect();
    client.close();
  });
  await until('signed out', () => reasons.length > 0);
  assert.equal(reasons, ['revoked']);
  assert.not.ok(socket.connected);
});

S('revocation reasons map to signedOut reasons', () => {
  // Typed against the adapter's union: a reason added there fails to compile here until it is mapped (issue 12).
  const expected: Record<RevocationReason, SignedOutReason> = {
    deleted: 'revoked',
    all: 'signed-out-elsewhere',
    reused: 'reused',
    evicted: 'revoked',
    unverified: 'revoked',
  };
  for (const [reason, mapped] of Object.entries(expected)) assert.is(revokedReason({ reason }, false), mapped, reason);
  assert.is(revokedReason({ reason: 'from-a-newer-adapter' }, false), 'revoked');
  assert.is(revokedReason(null, false), 'revoked');
  assert.is(revokedReason({ reason: 'deleted' }, true), 'signed-out');
  assert.is(revokedReason({ reason: 'all' }, true), 'signed-out', 'this device signing out everywhere itself');
});

// Guards issue 12: over the real guard, "sign out everywhere" on one device
// reaches another as signed-out-elsewhere, not as revoked; the device that
// asked for it reads signed-out.
S('signOutEverywhere on one device: the other device signs out live with reason signed-out-elsewhere', async () => {
  const here = await signedInSocket('eli');
  const there = await signedInSocket('eli');
  await here.client.signOutEverywhere();
  await until('the other device signed out', () => there.reasons.length > 0);
  assert.equal(there.reasons, ['signed-out-elsewhere']);
  assert.equal(here.reasons, ['signed-out']);
  await until('both sockets closed', () => !here.socket.connected && !there.socket.connected);
});

S('deleteAll on the server: every device signs out with reason signed-out-elsewhere', async () => {
  const { client, socket, reasons } = await signedInSocket('ada');
  await server.manager.deleteAll('ada');
  await until('signed out', () => reasons.length > 0);
  assert.equal(reasons, ['signed-out-elsewhere']);
  assert.is(client.session, null);
  await until('the socket closed', () => !socket.connected);
});

S.run();

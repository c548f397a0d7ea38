// Step-up (RFC 9470, issue 22) from the client against real servers: the
// @jwt-session/http endpoints with `reauthenticateSession` at POST
// /auth/reauthenticate (the password check is the test server's), routes
// guarded by the real `requireFresh` of @jwt-session/socketio-adapter, and
// Socket.IO events guarded by its `requireFreshEvents`. A plain sign-in
// records no `amr`, so POST /api/fresh ({ maxAge: 300, amr: ['pwd'] }) refuses
// it until the user re-enters the password; GET /api/loa2 wants `acr: loa2`,
// which a password never gives.
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import { DpopNonces } from '@jwt-session/session-core';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionClient, SessionClientError, type SessionClientOptions, type StepUpChallenge } from '../src/index.js';
import { rejects } from './support/assert.js';
import { Profile, ProcessLocks, until } from './support/browser.js';
import { PASSWORD, startTestServer, type TestServer } from './support/server.js';

const S = suite('step-up');
let server: TestServer;
let bound: TestServer;
const cleanup: (() => void)[] = [];

S.before(async () => {
  server = await startTestServer();
  bound = await startTestServer({ dpop: { replayCache: new MemoryDpopReplayCache(), nonces: new DpopNonces({ secret: 'a nonce secret of at least 32 bytes!' }) } });
});
S.after.each(() => {
  for (const step of cleanup.splice(0)) step();
});
S.after(async () => {
  await server.close();
  await bound.close();
});

function makeClient(options: SessionClientOptions = {}, on = server) {
  const client = new SessionClient({ baseUrl: `${on.url}/auth`, fetch: new Profile().fetch, channel: `stepup-${randomUUID()}`, ...options });
  cleanup.push(() => client.close());
  const challenges: StepUpChallenge[] = [];
  client.on('stepUpRequired', (challenge) => challenges.push(challenge));
  return { client, challenges };
}

/** An onStepUp that "asks the user" and types `password`; counts the prompts. */
function prompt(password: string) {
  const state = { prompts: 0, errors: [] as string[], client: undefined as SessionClient | undefined };
  const onStepUp = async (): Promise<boolean> => {
    state.prompts += 1;
    try {
      await state.client!.reauthenticate({ password });
      return true;
    } catch (error) {
      state.errors.push((error as SessionClientError).code);
      return false; // the user gives up after the "wrong password" message
    }
  };
  return { state, onStepUp };
}

const post = (client: SessionClient, on = server) => client.fetch(`${on.url}/api/fresh`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });

S('a stale session: stepUpRequired fires, reauthenticate with the password stamps the same session fresh and rotates it, the request is sent again once and succeeds', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  const { sessionId } = await client.signIn({ username: 'ada', password: PASSWORD });
  const before = { token: await client.token(), rotations: server.rotations(), served: server.freshServed.length, reauth: server.reauthCalls.get(200) ?? 0 };
  assert.is(client.claims!.amr, undefined);
  const refreshed: string[] = [];
  client.on('refreshed', (s) => refreshed.push(s.sessionId));

  const res = await post(client);
  assert.is(res.status, 200);
  assert.equal(await res.json(), { ok: true, sid: sessionId, amr: ['pwd'] });
  assert.equal(challenges, [{ maxAge: 300 }]);
  assert.is(state.prompts, 1);
  assert.equal(state.errors, []);
  // Once through the handler: the refused attempt never reached it.
  assert.equal(server.freshServed.slice(before.served), ['POST /api/fresh']);
  assert.is((server.reauthCalls.get(200) ?? 0) - before.reauth, 1);
  assert.is(server.rotations() - before.rotations, 1);
  // The same session, a new token that says how and when the user authenticated.
  assert.is(client.session!.sessionId, sessionId);
  assert.equal(refreshed, [sessionId]);
  assert.is.not(await client.token(), before.token);
  assert.equal(client.claims!.amr, ['pwd']);
  assert.ok(Math.abs((client.claims!.auth_time as number) - Date.now() / 1000) < 5);
  // Fresh now: the next call goes straight through.
  assert.is((await post(client)).status, 200);
  assert.is(state.prompts, 1);
});

S('a wrong password: ERR_CREDENTIALS_INVALID, nothing rotated, the prompt declined and the original 401 (its challenge and body) returned', async () => {
  const { state, onStepUp } = prompt('wrong');
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  await client.signIn({ username: 'bob', password: PASSWORD });
  const before = { token: await client.token(), rotations: server.rotations(), served: server.freshServed.length, refused: server.reauthCalls.get(401) ?? 0 };
  const res = await post(client);
  assert.is(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="insufficient_user_authentication".*max_age="300"/);
  const body = (await res.json()) as { error: string; message: string; maxAge: number };
  assert.equal([body.error, typeof body.message, body.maxAge], ['ERR_AUTH_NOT_FRESH', 'string', 300]);
  assert.equal(challenges, [{ maxAge: 300 }]);
  assert.equal(state.errors, ['ERR_CREDENTIALS_INVALID']);
  assert.is((server.reauthCalls.get(401) ?? 0) - before.refused, 1);
  assert.is(server.rotations(), before.rotations);
  assert.is(server.freshServed.length, before.served);
  // Still signed in with the same token.
  assert.is(await client.token(), before.token);
  assert.is(client.claims!.amr, undefined);
});

S('no loop: a second challenge after the re-authentication is returned, not prompted for again (acr loa2, which a password never gives)', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  await client.signIn({ username: 'cy', password: PASSWORD });
  const served = server.freshServed.length;
  const res = await client.fetch(`${server.url}/api/loa2`);
  assert.is(res.status, 401);
  assert.is(((await res.json()) as { error: string }).error, 'ERR_AUTH_NOT_FRESH');
  assert.is(state.prompts, 1);
  assert.equal(challenges, [{ maxAge: 300, acrValues: ['loa2'] }]);
  assert.is(server.freshServed.length, served);
});

S('a bare RFC 9470 challenge (the header alone, no body): recognised, max_age read from it; after the re-authentication its second challenge is returned', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  await client.signIn({ username: 'bea', password: PASSWORD });
  const from = server.seen.length;
  const res = await client.fetch(`${server.url}/api/bare`);
  assert.is(res.status, 401);
  assert.equal(challenges, [{ maxAge: 60 }]);
  assert.is(state.prompts, 1);
  assert.is(server.seen.slice(from).filter((s) => s.route === 'GET /api/bare').length, 2);
  // Not a step-up challenge: a 401 of another kind goes back untouched, no prompt.
  assert.is((await client.fetch(`${server.url}/api/forbidden`)).status, 401);
  assert.is(state.prompts, 1);
});

S('without onStepUp: the 401 at once and the event; the app re-authenticates and sends again itself', async () => {
  const { client, challenges } = makeClient();
  await client.signIn({ username: 'dee', password: PASSWORD });
  const reauth = server.reauthCalls.get(200) ?? 0;
  const res = await post(client);
  assert.is(res.status, 401);
  assert.equal(challenges, [{ maxAge: 300 }]);
  assert.is(server.reauthCalls.get(200) ?? 0, reauth);
  const error = await rejects(client.reauthenticate({ password: 'nope' }));
  assert.equal([error.code, error.status], ['ERR_CREDENTIALS_INVALID', 401]);
  await client.reauthenticate({ password: PASSWORD });
  assert.is((await post(client)).status, 200);
});

S('requests refused together share one prompt and are each sent again once', async () => {
  let release!: () => void;
  const typed = new Promise<void>((resolve) => (release = resolve));
  let prompts = 0;
  const { client, challenges } = makeClient({
    onStepUp: async () => {
      prompts += 1;
      await typed; // the dialog is open while the other request's refusal arrives
      await client.reauthenticate({ password: PASSWORD });
      return true;
    },
  });
  await client.signIn({ username: 'eve', password: PASSWORD });
  const served = server.freshServed.length;
  const all = Promise.all([post(client), post(client)]);
  await until('both refusals', () => challenges.length === 2);
  release();
  assert.equal((await all).map((r) => r.status), [200, 200]);
  assert.is(prompts, 1);
  assert.is(server.freshServed.length - served, 2);
});

S('an onStepUp that throws declines (the 401) and is reported as uncaught; one that is not a function fails at construction', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    const { client } = makeClient({
      onStepUp: () => {
        throw new Error('dialog bug');
      },
    });
    await client.signIn({ username: 'fay', password: PASSWORD });
    const from = server.seen.length;
    assert.is((await post(client)).status, 401);
    // Declined: not sent again.
    assert.is(server.seen.slice(from).filter((s) => s.route === 'POST /api/fresh').length, 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is((uncaught[0] as Error).message, 'dialog bug');
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const listener of listeners) process.on('uncaughtException', listener);
  }
  try {
    new SessionClient({ onStepUp: 'yes' as never });
    assert.unreachable('onStepUp');
  } catch (error) {
    assert.is((error as SessionClientError).code, 'ERR_CONFIG_INVALID');
    assert.match((error as Error).message, 'onStepUp');
  }
});

S('reauthenticate without a session: ERR_NOT_SIGNED_IN, nothing sent', async () => {
  const { client } = makeClient();
  const calls = [...server.reauthCalls.values()].reduce((a, b) => a + b, 0);
  assert.is((await rejects(client.reauthenticate({ password: PASSWORD }))).code, 'ERR_NOT_SIGNED_IN');
  assert.is([...server.reauthCalls.values()].reduce((a, b) => a + b, 0), calls);
});

S('a DPoP-bound session: the re-authentication carries a proof (POST, its URL, ath, the nonce) by the session key, and the session stays bound', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp }, bound);
  state.client = client;
  await client.signIn({ username: 'gus', password: PASSWORD });
  const jkt = (client.claims!.cnf as { jkt: string }).jkt;
  const token = await client.token();
  const from = bound.seen.length;
  const res = await post(client, bound);
  assert.is(res.status, 200);
  assert.equal(challenges, [{ maxAge: 300 }]);
  const reauth = bound.seen.slice(from).filter((s) => s.route === 'POST /auth/reauthenticate');
  assert.ok(reauth.length >= 1);
  const last = reauth.at(-1)!;
  assert.is(last.authorization, `DPoP ${token}`);
  const claims = decodeJwt(last.dpop!);
  assert.equal([claims.htm, claims.htu, claims.ath], ['POST', `${bound.url}/auth/reauthenticate`, createHash('sha256').update(token).digest('base64url')]);
  assert.type(claims.nonce, 'string');
  assert.is(await calculateJwkThumbprint(decodeProtectedHeader(last.dpop!).jwk!), jkt);
  // The new token is bound to the same key, stamped by the password; the refused and the retried request are DPoP too.
  assert.equal([(client.claims!.cnf as { jkt: string }).jkt, client.claims!.amr], [jkt, ['pwd']]);
  const api = bound.seen.slice(from).filter((s) => s.route === 'POST /api/fresh');
  assert.ok(api.length >= 2 && api.every((s) => s.authorization!.startsWith('DPoP ') && s.dpop !== undefined));
  // Its refresh still needs (and has) the key.
  await client.refresh();
  assert.is((client.claims!.cnf as { jkt: string }).jkt, jkt);
});

S('Socket.IO: a session:not-fresh becomes stepUpRequired (with the event name) and the prompt; after it the socket is renewed and the event goes through', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  await client.signIn({ username: 'hal', password: PASSWORD });
  const socket: Socket = connect(server.url, { auth: client.socketAuth, transports: ['websocket'], reconnection: false });
  const detach = client.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.close();
  });
  await until('connected', () => socket.connected);
  const renewed = new Promise<void>((resolve) => client.on('refreshed', () => resolve()));
  socket.emit('transfer', 10); // no ack: the server answers with session:not-fresh
  await until('the challenge', () => challenges.length === 1);
  assert.equal(challenges, [{ maxAge: 300, event: 'transfer' }]);
  await renewed;
  assert.is(state.prompts, 1);
  // The socket's session:renew (sent on the new token) makes its claims fresh.
  await until('the event admitted', async () => ((await socket.timeout(2000).emitWithAck('transfer', 10)) as { ok: boolean }).ok);
});

S('Socket.IO ack: a refused event answers { ok: false, code: ERR_AUTH_NOT_FRESH }; stepUp(answer) runs the prompt and says whether to send again', async () => {
  const { state, onStepUp } = prompt(PASSWORD);
  const { client, challenges } = makeClient({ onStepUp });
  state.client = client;
  await client.signIn({ username: 'ivy', password: PASSWORD });
  const socket: Socket = connect(server.url, { auth: client.socketAuth, transports: ['websocket'], reconnection: false });
  const detach = client.attachSocket(socket);
  cleanup.push(() => {
    detach();
    socket.close();
  });
  await until('connected', () => socket.connected);
  const answer = (await socket.emitWithAck('transfer', 10)) as { ok: boolean; code: string; maxAge: number };
  assert.equal([answer.ok, answer.code, answer.maxAge], [false, 'ERR_AUTH_NOT_FRESH', 300]);
  assert.is(await client.stepUp(answer), true);
  assert.is(challenges.length, 1);
  await until('the event admitted', async () => ((await socket.timeout(2000).emitWithAck('transfer', 10)) as { ok: boolean }).ok);
});

S('tabs: a re-authentication in one tab while the others renew takes the renewal lock — never the same refresh token twice (reuse interval 0), every tab ends on the fresh token', async () => {
  const strict = await startTestServer({ refreshTokenReuseInterval: 0 });
  try {
    for (const locks of [new ProcessLocks(), null]) {
      const profile = new Profile();
      const channel = `stepup-tabs-${randomUUID()}`;
      // Without Web Locks the tabs coordinate best effort (README, Tabs): the re-authenticating tab's network is
      // slow, so its announcement has arrived when the others decide; with Web Locks they all start together.
      const slow: typeof fetch = async (input, init) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return profile.fetch(input, init);
      };
      const tabs = [slow, profile.fetch, profile.fetch].map((fetch) => new SessionClient({ baseUrl: `${strict.url}/auth`, fetch, channel, locks }));
      cleanup.push(() => tabs.forEach((tab) => tab.close()));
      const out: string[] = [];
      for (const tab of tabs) tab.on('signedOut', ({ reason }) => out.push(reason));
      const [first, ...others] = tabs as [SessionClient, ...SessionClient[]];
      await first.signIn({ username: 'tabs', password: PASSWORD });
      await until('the other tabs to adopt the session', () => others.every((tab) => tab.session?.sessionId === first.session!.sessionId));
      const rotations = strict.rotations();
      const reauthenticated = first.reauthenticate({ password: PASSWORD });
      if (locks === null) await new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all([reauthenticated, ...others.map((tab) => tab.refresh()), first.refresh()]);
      const mode = locks === null ? 'without Web Locks' : 'with Web Locks';
      assert.equal(out, [], mode);
      // The re-authentication, and at most one renewal that took the lock before it (then the others find its
      // result): extra rotations with the current cookie, never a reuse.
      assert.ok(strict.rotations() - rotations <= 2, `${mode}: ${strict.rotations() - rotations} rotations`);
      await until('every tab on the fresh token', async () => {
        const tokens = await Promise.all(tabs.map((tab) => tab.token()));
        return new Set(tokens).size === 1 && tabs.every((tab) => JSON.stringify(tab.claims!.amr) === '["pwd"]');
      });
      assert.is((await others[0]!.fetch(`${strict.url}/api/fresh`, { method: 'POST', body: '{}' })).status, 200, mode);
    }
  } finally {
    await strict.close();
  }
});

S.run();

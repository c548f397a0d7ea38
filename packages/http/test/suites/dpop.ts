import { DPOP_BINDING_REFUSED, DpopNonces, type DpopBindingRefusal } from '@jwt-session/session-core';
import { MemoryDpopReplayCache } from '@jwt-session/storage-memory';
import * as dpop from 'dpop';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, rawRequest, type Answer, type Framework } from '../support.js';
import { assertError, assertSessionBody, withApp, type Ctx, type Setup } from './endpoints.js';

type KeyPair = Awaited<ReturnType<typeof dpop.generateKeyPair>>;

/** A client holding a DPoP key, its proofs made by panva's `dpop` package (not this library's code). */
class DpopClient {
  nonce: string | undefined;
  private constructor(
    readonly http: Client,
    readonly keypair: KeyPair,
    readonly jkt: string,
  ) {}

  static async of(http: Client, keypair?: KeyPair): Promise<DpopClient> {
    keypair ??= await dpop.generateKeyPair('ES256');
    return new DpopClient(http, keypair, await dpop.calculateThumbprint(keypair.publicKey));
  }

  proof(path: string, options: { origin?: string; method?: string; nonce?: string; accessToken?: string } = {}): Promise<string> {
    return dpop.generateProof(this.keypair, `${options.origin ?? this.http.origin}${path}`, options.method ?? 'POST', options.nonce ?? this.nonce, options.accessToken);
  }

  /** POST `path` with a fresh proof, as the browser client does. */
  async call(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const answer = await this.http.call(path, { headers: { dpop: await this.proof(path), ...headers } });
    this.nonce = answer.headers.get('dpop-nonce') ?? this.nonce;
    return answer;
  }
}

const REFRESH = '/auth/refresh';
const CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256"';

function refusals(ctx: Ctx): DpopBindingRefusal[] {
  const seen: DpopBindingRefusal[] = [];
  ctx.manager.on(DPOP_BINDING_REFUSED, (payload) => seen.push(payload));
  return seen;
}

/** The DPoP additions to the endpoint contract (ENDPOINTS.md, "DPoP"), run once per framework. */
export function dpopSuite(framework: Framework): void {
  const S = suite(`session endpoints with DPoP (${framework.name})`);
  const app = (setup: Setup, run: (ctx: Ctx) => Promise<void>) => withApp(framework, setup, run);
  const withDpop = (extra: Record<string, unknown> = {}): Setup => ({ endpoints: { dpop: { replayCache: new MemoryDpopReplayCache(), ...extra } } });

  S('sign-in with a proof binds the session: cnf.jkt in every access token, refreshes with the key keep it', () =>
    app(withDpop(), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const body = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      assert.equal((await ctx.manager.read(body.accessToken)).cnf, { jkt: alice.jkt });
      assert.equal((await ctx.manager.readAll('alice'))[0]!.dpop, { jkt: alice.jkt });
      const next = assertSessionBody(await alice.call(REFRESH));
      assert.is(next.sessionId, body.sessionId);
      assert.equal((await ctx.manager.read(next.accessToken)).cnf, { jkt: alice.jkt });
      // Sign-in without a proof, DPoP not required: an unbound session, as before.
      const bob = assertSessionBody(await ctx.client.signIn('bob'));
      assert.is((await ctx.manager.read(bob.accessToken)).cnf, undefined);
    }),
  );

  S('issueSession with dpop: { jkt } and redirect (a redirect sign-in): 303 to the path, the cookie, no token, bound to the key proven before', async () => {
    const keypair = await dpop.generateKeyPair('ES256');
    const jkt = await dpop.calculateThumbprint(keypair.publicKey);
    // The callback of a redirect sign-in: a top-level GET-like navigation, no CSRF header, no proof.
    await app({ ...withDpop(), issue: { dpop: { jkt }, redirect: '/', csrf: false } }, async (ctx) => {
      const alice = await DpopClient.of(ctx.client, keypair);
      // A proof by another key on that request does not pick the binding: the header is not read.
      const other = await DpopClient.of(new Client(ctx.origin));
      const answer = await alice.http.signIn('alice', { headers: { dpop: await other.proof('/login') } });
      assert.is(answer.status, 303, answer.text);
      assert.is(answer.headers.get('location'), '/');
      assert.is(answer.headers.get('cache-control'), 'no-store');
      assert.is(answer.text, '', 'no access token in a navigation');
      assert.ok(answer.setCookie !== undefined && alice.http.cookie !== undefined, 'the refresh cookie is set');
      const [session] = await ctx.manager.readAll('alice');
      assert.equal(session!.dpop, { jkt }, 'bound from its first moment');
      // The page's restore(): with the key, the session's first token is bound; without it, refused and kept.
      assertError(await alice.http.call(REFRESH), 401, 'ERR_DPOP_BINDING_MISMATCH');
      assertError(await other.http.call(REFRESH, { headers: { cookie: alice.http.cookie!, dpop: await other.proof(REFRESH) } }), 401, 'ERR_DPOP_BINDING_MISMATCH');
      const first = assertSessionBody(await alice.call(REFRESH));
      assert.is(first.sessionId, session!.sessionId);
      assert.equal((await ctx.manager.read(first.accessToken)).cnf, { jkt });
    });
  });

  S('a copied refresh cookie without the key: 401 invalid_dpop_proof, the cookie kept, an event, and the session survives', () =>
    app(withDpop(), async (ctx) => {
      const events = refusals(ctx);
      const alice = await DpopClient.of(ctx.client);
      const first = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      // The infostealer's copy of the cookie, on another machine: no proof, then proofs by its own key.
      const thief = await DpopClient.of(new Client(ctx.origin));
      thief.http.cookie = alice.http.cookie;
      for (const answer of [await thief.http.call(REFRESH), await thief.call(REFRESH), await thief.call('/auth/signout')]) {
        if (answer.status === 204) continue; // signout: not the thief's session to end, its own jar cleared
        assertError(answer, 401, 'ERR_DPOP_BINDING_MISMATCH');
        assert.is(answer.headers.get('www-authenticate'), CHALLENGE, 'a DPoP challenge, never Bearer: no downgrade');
        assert.is(answer.setCookie, undefined, 'the cookie is not cleared: it is the victim’s');
      }
      assert.equal(
        events.map(({ sessionId, reason }) => [sessionId, reason]),
        [
          [first.sessionId, 'no_proof'],
          [first.sessionId, 'other_key'],
          [first.sessionId, 'other_key'],
        ],
      );
      // Alice never noticed: her refresh works, her access token too, the session is listed.
      await ctx.manager.read(first.accessToken);
      assert.is(assertSessionBody(await alice.call(REFRESH)).sessionId, first.sessionId);
      assert.is((await ctx.manager.readAll('alice')).length, 1);
    }),
  );

  S('a bad proof is refused before the refresh token is spent: another URL, another method, a replay, two DPoP headers', () =>
    app(withDpop(), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } });
      const cookie = alice.http.cookie;
      const bad: Array<[string, Answer]> = [
        ['the sign-in URL', await alice.http.call(REFRESH, { headers: { dpop: await alice.proof('/login') } })],
        ['another origin', await alice.http.call(REFRESH, { headers: { dpop: await alice.proof(REFRESH, { origin: 'http://evil.test' }) } })],
        ['GET', await alice.http.call(REFRESH, { headers: { dpop: await alice.proof(REFRESH, { method: 'GET' }) } })],
        ['not a JWS', await alice.http.call(REFRESH, { headers: { dpop: 'not-a-proof' } })],
      ];
      for (const [what, answer] of bad) {
        assertError(answer, 401, 'ERR_DPOP_PROOF_INVALID');
        assert.is(answer.headers.get('www-authenticate'), CHALLENGE, what);
        assert.is(answer.setCookie, undefined, what);
      }
      const proof = await alice.proof(REFRESH);
      assertSessionBody(await alice.http.call(REFRESH, { headers: { dpop: proof } }));
      // The same proof again, with the new cookie: refused (its jti was seen), the new cookie unspent.
      const replayed = await alice.http.call(REFRESH, { headers: { dpop: proof } });
      assertError(replayed, 401, 'ERR_DPOP_PROOF_INVALID');
      assert.is(replayed.setCookie, undefined);
      const twice = await rawRequest(`${ctx.origin}${REFRESH}`, 'POST', ['X-JWT-Session', '1', 'Cookie', alice.http.cookie!, 'DPoP', await alice.proof(REFRESH), 'DPoP', await alice.proof(REFRESH)]);
      assert.equal([twice.status, twice.body.error], [401, 'ERR_DPOP_PROOF_INVALID']);
      assert.is.not(alice.http.cookie, cookie);
      assertSessionBody(await alice.call(REFRESH));
    }),
  );

  S('server nonces (RFC 9449 §8): use_dpop_nonce with a DPoP-Nonce, the retry with it succeeds, every answer carries the newest', () =>
    app(withDpop({ nonces: new DpopNonces({ secret: 'a nonce secret of at least 32 bytes!!' }) }), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const first = await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } });
      assertError(first, 401, 'ERR_DPOP_NONCE_REQUIRED');
      assert.is(first.headers.get('www-authenticate'), 'DPoP error="use_dpop_nonce", algs="ES256"');
      const nonce = first.headers.get('dpop-nonce');
      assert.ok(nonce !== null && nonce.length > 20, 'a nonce to retry with');
      assert.is(first.setCookie, undefined);
      const signedIn = await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login', { nonce }) } });
      assertSessionBody(signedIn);
      assert.is(signedIn.headers.get('dpop-nonce'), nonce, 'the same window: the same nonce, on every node');
      alice.nonce = nonce;
      assertSessionBody(await alice.call(REFRESH));
      const stale = await alice.http.call(REFRESH, { headers: { dpop: await alice.proof(REFRESH, { nonce: '0.AAAAAAAAAAAAAAAAAAAAAA' }) } });
      assertError(stale, 401, 'ERR_DPOP_NONCE_REQUIRED');
      assert.is(stale.headers.get('dpop-nonce'), nonce);
      assert.is(stale.setCookie, undefined, 'the cookie is kept for the retry');
      assertSessionBody(await alice.call(REFRESH));
    }),
  );

  S('DPoP required: sign-in needs a proof; an unbound session’s cookie is refused and cleared', () =>
    app(withDpop({ required: true }), async (ctx) => {
      const noProof = await ctx.client.signIn('alice');
      assertError(noProof, 401, 'ERR_DPOP_PROOF_INVALID');
      // An unbound access token (of a session from before) is refused on the bearer endpoints too.
      const old = await ctx.manager.create('dave');
      assertError(await ctx.client.call('/auth/sessions', { method: 'GET', bearer: old.accessToken }), 401, 'ERR_AUTH_TOKEN_INVALID');
      assert.is(noProof.headers.get('www-authenticate'), CHALLENGE);
      assert.is((await ctx.manager.readAll('alice')).length, 0);
      // A session made before DPoP was required (straight through the manager here).
      const legacy = await ctx.manager.create('bob');
      const bob = await DpopClient.of(new Client(ctx.origin));
      bob.http.cookie = `jwt-session-refresh=${legacy.refreshToken}`;
      const refused = await bob.call(REFRESH);
      assertError(refused, 401, 'ERR_REFRESH_TOKEN_INVALID');
      assert.match(refused.setCookie ?? '', /Max-Age=0/, 'the cookie is dead for good: cleared, the user signs in again');
      const alice = await DpopClient.of(ctx.client);
      assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      assertSessionBody(await alice.call(REFRESH));
    }),
  );

  S('htu behind a proxy: the configured public origin; or X-Forwarded-* only when trustProxy believes them', async () => {
    await app(withDpop({ publicOrigin: 'https://app.example.com' }), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      assertError(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }), 401, 'ERR_DPOP_PROOF_INVALID');
      assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login', { origin: 'https://app.example.com' }) } }));
      assertSessionBody(await alice.http.call(REFRESH, { headers: { dpop: await alice.proof(REFRESH, { origin: 'https://app.example.com' }) } }));
    });
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' };
    for (const trustProxy of [false, true]) {
      const setup = withDpop();
      setup.endpoints!.trustProxy = trustProxy;
      await app(setup, async (ctx) => {
        const alice = await DpopClient.of(ctx.client);
        // Origin matches the forwarded origin for the CSRF check when the proxy is trusted.
        const headers = { dpop: await alice.proof('/login', { origin: 'https://app.example.com' }), ...forwarded };
        const answer = await alice.http.signIn('alice', { headers, origin: trustProxy ? 'https://app.example.com' : null });
        if (trustProxy) assertSessionBody(answer);
        else assertError(answer, 401, 'ERR_DPOP_PROOF_INVALID');
      });
    }
  });

  S('sign-out of a bound session needs its key; with it the session ends', () =>
    app(withDpop(), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const body = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      const answer = await alice.call('/auth/signout');
      assert.is(answer.status, 204);
      assert.match(answer.setCookie ?? '', /Max-Age=0/);
      assert.equal(await ctx.manager.readAll('alice'), []);
      assert.is((await ctx.manager.read(body.accessToken).catch((error: { code: string }) => error)).code, 'ERR_SESSION_REVOKED');
    }),
  );

  S('the bearer endpoints: a bound access token passes only as DPoP with a proof naming it; as Bearer or without a proof it is refused', () =>
    app(withDpop(), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const { accessToken } = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      const sessions = (headers: Record<string, string>) => new Client(ctx.origin).call('/auth/sessions', { method: 'GET', headers });
      const proof = await alice.proof('/auth/sessions', { method: 'GET', accessToken });
      const ok = await sessions({ authorization: `DPoP ${accessToken}`, dpop: proof });
      assert.is(ok.status, 200, ok.text);
      assert.equal((ok.body!.sessions as Array<Record<string, unknown>>).map((s) => s.bound), [true], 'listed as bound');
      assert.not.ok(ok.text.includes(alice.jkt), 'a yes or no, never the thumbprint');
      const refusedAnswers: Array<[string, Answer]> = [
        ['the same proof again', await sessions({ authorization: `DPoP ${accessToken}`, dpop: proof })],
        ['as Bearer', await sessions({ authorization: `Bearer ${accessToken}` })],
        ['as Bearer, with a proof', await sessions({ authorization: `Bearer ${accessToken}`, dpop: await alice.proof('/auth/sessions', { method: 'GET', accessToken }) })],
        ['as DPoP without a proof', await sessions({ authorization: `DPoP ${accessToken}` })],
        ['a proof without ath', await sessions({ authorization: `DPoP ${accessToken}`, dpop: await alice.proof('/auth/sessions', { method: 'GET' }) })],
        ['a proof for another endpoint', await sessions({ authorization: `DPoP ${accessToken}`, dpop: await alice.proof('/auth/refresh', { method: 'GET', accessToken }) })],
      ];
      for (const [what, answer] of refusedAnswers) {
        assert.is(answer.status, 401, what);
        assert.ok(['ERR_DPOP_PROOF_INVALID', 'ERR_DPOP_BINDING_MISMATCH'].includes(answer.body!.error as string), `${what}: ${answer.text}`);
        assert.is(answer.headers.get('www-authenticate'), CHALLENGE, what);
      }
      // A copied bound token cannot sign its owner out everywhere.
      const everywhere = await new Client(ctx.origin).call('/auth/signout-everywhere', { bearer: accessToken });
      assertError(everywhere, 401, 'ERR_DPOP_BINDING_MISMATCH');
      assert.is((await ctx.manager.readAll('alice')).length, 1);
      // An unbound token keeps working under either scheme.
      const bob = assertSessionBody(await new Client(ctx.origin).signIn('bob'));
      for (const scheme of ['Bearer', 'DPoP']) {
        const listed = await sessions({ authorization: `${scheme} ${bob.accessToken}` });
        assert.is(listed.status, 200, scheme);
        assert.equal((listed.body!.sessions as Array<Record<string, unknown>>).map((s) => s.bound), [false], 'listed as not bound');
      }
    }),
  );

  S('POST {base}/reauthenticate of a bound session: with a proof by its key (naming the token) it is stamped fresh and stays bound; a copy without the key is refused', () =>
    app(withDpop(), async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const { accessToken, sessionId } = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      const path = '/auth/reauthenticate';
      // The thief holds both the access token and the cookie, and the password: still not the key.
      const thief = await DpopClient.of(new Client(ctx.origin));
      thief.http.cookie = alice.http.cookie;
      const stolen = await thief.http.call(path, { headers: { authorization: `DPoP ${accessToken}`, dpop: await thief.proof(path, { accessToken }), 'x-password': 'wonderland' } });
      assertError(stolen, 401, 'ERR_DPOP_BINDING_MISMATCH');
      const answer = await alice.http.call(path, { headers: { authorization: `DPoP ${accessToken}`, dpop: await alice.proof(path, { accessToken }), 'x-password': 'wonderland' } });
      const body = assertSessionBody(answer);
      assert.is(body.sessionId, sessionId);
      const claims = await ctx.manager.read(body.accessToken);
      assert.equal([claims.cnf, claims.amr], [{ jkt: alice.jkt }, ['pwd']]);
      // The new refresh cookie still needs the key.
      assertSessionBody(await alice.call(REFRESH));
    }),
  );

  S('without the dpop option a proof is ignored at sign-in, and a bound session is still refused without its key', () =>
    app({}, async (ctx) => {
      const alice = await DpopClient.of(ctx.client);
      const body = assertSessionBody(await alice.http.signIn('alice', { headers: { dpop: await alice.proof('/login') } }));
      assert.is((await ctx.manager.read(body.accessToken)).cnf, undefined);
      const bound = await ctx.manager.create('carol', { dpop: { jkt: alice.jkt } });
      const carol = new Client(ctx.origin);
      carol.cookie = `jwt-session-refresh=${bound.refreshToken}`;
      const refused = await carol.call(REFRESH);
      assertError(refused, 401, 'ERR_DPOP_BINDING_MISMATCH');
      assert.is(refused.headers.get('www-authenticate'), CHALLENGE);
      // Its access token is held to its key on the bearer endpoints too.
      const asBearer = await carol.call('/auth/sessions', { method: 'GET', bearer: bound.accessToken });
      assertError(asBearer, 401, 'ERR_DPOP_BINDING_MISMATCH');
      const proof = await alice.proof('/auth/sessions', { method: 'GET', accessToken: bound.accessToken });
      assert.is((await carol.call('/auth/sessions', { method: 'GET', headers: { authorization: `DPoP ${bound.accessToken}`, dpop: proof } })).status, 200);
    }),
  );

  S('bad dpop options fail at construction with ERR_CONFIG_INVALID naming the option', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /^options\.dpop must be an object/],
      [{}, /^options\.dpop\.replayCache is required/],
      [{ replayCache: {} }, /^options\.dpop\.replayCache/],
      [{ replayCache: new MemoryDpopReplayCache(), required: 'yes' }, /^options\.dpop\.required/],
      [{ replayCache: new MemoryDpopReplayCache(), nonces: {} }, /^options\.dpop\.nonces/],
      [{ replayCache: new MemoryDpopReplayCache(), algorithms: [] }, /^options\.dpop\.algorithms/],
      [{ replayCache: new MemoryDpopReplayCache(), algorithms: ['HS256'] }, /^options\.dpop\.algorithms/],
      [{ replayCache: new MemoryDpopReplayCache(), publicOrigin: 'https://app.example.com/path' }, /^options\.dpop\.publicOrigin/],
      [{ replayCache: new MemoryDpopReplayCache(), publicorigin: 'https://app.example.com' }, /^options\.dpop\.publicorigin is not an option/],
    ];
    for (const [dpopOption, message] of cases) {
      try {
        await framework.construct({ create() {}, update() {}, read() {}, readAll() {}, deleteOne() {}, deleteAll() {}, deleteOthers() {} }, { dpop: dpopOption });
        assert.unreachable(`accepted ${JSON.stringify(dpopOption)}`);
      } catch (error) {
        assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID', String(error));
        assert.match((error as Error).message, message);
      }
    }
  });

  S.run();
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DpopNonces, dpopChallenge, dpopRequestUrl, isSessionError, normalizeDpopOptions, requestOrigin, type DpopReplayCache } from '../src/index.js';

/*
 * The `dpop` option every surface takes (@jwt-session/http's endpoints, the
 * guards of socketio-adapter and nestjs), the request's public URL for `htu`
 * and the DPoP challenge: written once here.
 */

const S = suite('dpop option, request URL and challenge (shared by the endpoints and the guards)');

const cache: DpopReplayCache = { remember: () => Promise.resolve('fresh') };

S('normalizeDpopOptions: defaults, a frozen deduplicated algorithm list, the checked origin', () => {
  assert.is(normalizeDpopOptions(undefined), undefined);
  const n = normalizeDpopOptions({ replayCache: cache, algorithms: ['ES256', 'EdDSA', 'ES256'], publicOrigin: 'HTTPS://API.Example.com:443' })!;
  assert.equal([...n.algorithms], ['ES256', 'EdDSA']);
  assert.ok(Object.isFrozen(n.algorithms));
  assert.is(n.algs, 'ES256 EdDSA');
  assert.is(n.publicOrigin, 'https://api.example.com');
  assert.is(n.required, false);
  assert.is(n.nonces, undefined);
  assert.equal([...normalizeDpopOptions({ replayCache: cache, required: true })!.algorithms], ['ES256']);
});

S('normalizeDpopOptions: each bad field is ERR_CONFIG_INVALID naming it, prefixed by where', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /^x: options\.dpop must be an object$/],
    [{}, /^x: options\.dpop\.replayCache is required/],
    [{ replayCache: cache, required: 1 }, /options\.dpop\.required must be a boolean/],
    [{ replayCache: cache, nonces: { current() {} } }, /options\.dpop\.nonces must be/],
    [{ replayCache: cache, algorithms: 'ES256' }, /options\.dpop\.algorithms must be/],
    [{ replayCache: cache, publicOrigin: 'https://a.example/path' }, /options\.dpop\.publicOrigin must be/],
    [{ replayCache: cache, replaycache: 1 }, /options\.dpop\.replaycache is not an option/],
    [{ replayCache: cache, 'evil\n"x': 1 }, /^x: options\.dpop holds an unknown option$/],
  ];
  for (const [value, message] of cases) {
    try {
      normalizeDpopOptions(value, 'x: ');
      assert.unreachable(String(message));
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_CONFIG_INVALID'), String(error));
      assert.match((error as Error).message, message);
    }
  }
});

S('requestOrigin: Host and TLS; X-Forwarded-* only with trustProxy', () => {
  const headers = { host: 'Node.Internal:8080', 'x-forwarded-host': ' app.example.com , proxy', 'x-forwarded-proto': 'HTTPS' };
  assert.is(requestOrigin({ headers }, false), 'http://node.internal:8080');
  assert.is(requestOrigin({ headers, encrypted: true }, false), 'https://node.internal:8080');
  assert.is(requestOrigin({ headers }, true), 'https://app.example.com');
  assert.is(requestOrigin({ headers: { host: ['a.example'] } }, 1), 'http://a.example');
  assert.is(requestOrigin({ headers: {} }, false), undefined);
  assert.is(requestOrigin({ headers: { host: '' } }, false), undefined);
});

S('dpopRequestUrl: the public origin or the own one, then the path; no host, or an absolute target, is refused as htu', () => {
  assert.is(dpopRequestUrl('https://api.example.com', { headers: { host: 'ignored' } }, '/api/me?x=1', false), 'https://api.example.com/api/me');
  assert.is(dpopRequestUrl(undefined, { headers: { host: 'a.example:80' } }, '/socket.io/?EIO=4', false), 'http://a.example/socket.io/');
  for (const [req, target] of [[{ headers: {} }, '/x'], [{ headers: { host: 'a.example' } }, 'http://evil.example/x'], [{ headers: { host: 'bad host' } }, '/x']] as const) {
    try {
      dpopRequestUrl(undefined, req, target, false);
      assert.unreachable(target);
    } catch (error) {
      assert.ok(isSessionError(error, 'ERR_DPOP_PROOF_INVALID'));
      assert.is((error as { reason: string }).reason, 'htu');
    }
  }
});

S('dpopChallenge: use_dpop_nonce or invalid_dpop_proof with algs, a fresh nonce when nonces are on; nothing for other codes', () => {
  assert.is(dpopChallenge('ERR_AUTH_TOKEN_INVALID', undefined), undefined);
  assert.equal(dpopChallenge('ERR_DPOP_BINDING_MISMATCH', undefined), { 'www-authenticate': 'DPoP error="invalid_dpop_proof", algs="ES256"' });
  const nonces = new DpopNonces({ secret: 's'.repeat(32) });
  const dpop = normalizeDpopOptions({ replayCache: cache, nonces, algorithms: ['ES256', 'PS256'] });
  assert.equal(dpopChallenge('ERR_DPOP_NONCE_REQUIRED', dpop), { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256 PS256"', 'dpop-nonce': nonces.current() });
  assert.is(dpopChallenge('ERR_DPOP_PROOF_INVALID', dpop)!['www-authenticate'], 'DPoP error="invalid_dpop_proof", algs="ES256 PS256"');
});

S.run();

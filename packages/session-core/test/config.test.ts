import { generateKeyPairSync } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';
import { JwtUserSessionManager, SessionError, type JwtUserSessionManagerOptions } from '../src/index.js';
import { SECRET } from './helpers.js';

const S = suite('configuration errors at construction');

const base = (): JwtUserSessionManagerOptions => ({
  keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
  issuer: 'iss',
  audience: 'aud',
  refreshTokenStore: new ReferenceRefreshTokenStore(),
  invalidAccessTokenCache: new ReferenceInvalidAccessTokenCache(),
});

/** Construction throws ERR_CONFIG_INVALID naming the option. */
function rejects(patch: Record<string, unknown>, option: string) {
  try {
    new JwtUserSessionManager({ ...base(), ...patch } as JwtUserSessionManagerOptions);
  } catch (error) {
    assert.instance(error, SessionError);
    assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
    assert.ok((error as Error).message.includes(option), `"${(error as Error).message}" does not name ${option}`);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(patch)}`);
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 1024 });

S('HMAC secrets shorter than the hash output', () => {
  rejects({ keys: { kid: 'k', algorithm: 'HS256', secret: 'x'.repeat(31) } }, 'keys[0].secret');
  rejects({ keys: { kid: 'k', algorithm: 'HS256', secret: new Uint8Array(16) } }, 'keys[0].secret');
  rejects({ keys: { kid: 'k', algorithm: 'HS512', secret: 'x'.repeat(32) } }, 'keys[0].secret');
  rejects({ keys: { kid: 'k', algorithm: 'HS256' } }, 'keys[0].secret');
  new JwtUserSessionManager({ ...base(), keys: { kid: 'k', algorithm: 'HS256', secret: new Uint8Array(32) } });
});

S('unknown algorithm, empty key list, duplicate kid, bad kid', () => {
  rejects({ keys: { kid: 'k', algorithm: 'HS1', secret: SECRET } }, 'keys[0].algorithm');
  rejects({ keys: { kid: 'k', algorithm: 'none', secret: SECRET } }, 'keys[0].algorithm');
  rejects({ keys: [] }, 'options.keys');
  rejects({ keys: undefined }, 'options.keys');
  rejects({ keys: [null] }, 'keys[0]');
  rejects({ keys: [{ kid: 'k', algorithm: 'HS256', secret: SECRET }, { kid: 'k', algorithm: 'HS256', secret: SECRET }] }, 'keys[1].kid');
  rejects({ keys: { kid: '', algorithm: 'HS256', secret: SECRET } }, 'keys[0].kid');
});

S('asymmetric keys must match their algorithm and be able to sign first', () => {
  rejects({ keys: { kid: 'k', algorithm: 'ES384', privateKey: ec.privateKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', privateKey: ec384.privateKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'EdDSA', privateKey: ec.privateKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'RS256', privateKey: rsaSmall.privateKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'RS256', privateKey: ec.privateKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', publicKey: ec.publicKey } }, 'keys[0]');
  rejects({ keys: { kid: 'k', algorithm: 'ES256' } }, 'keys[0]');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', privateKey: ec.publicKey } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', privateKey: ec.privateKey, publicKey: ec.privateKey } }, 'keys[0].publicKey');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', secret: SECRET } }, 'keys[0].secret');
  rejects({ keys: { kid: 'k', algorithm: 'HS256', secret: SECRET, privateKey: ec.privateKey } }, 'keys[0]');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', privateKey: 'not a key' } }, 'keys[0].privateKey');
  rejects({ keys: { kid: 'k', algorithm: 'ES256', privateKey: { kty: 'EC', crv: 'P-256', x: 'bad' } } }, 'keys[0].privateKey');
});

S('TTLs must be finite and positive; idle must not exceed absolute', () => {
  for (const value of [0, -1, Number.NaN, Infinity, '900']) {
    rejects({ accessTokenTtl: value }, 'accessTokenTtl');
    rejects({ refreshTokenTtl: value }, 'refreshTokenTtl');
    rejects({ refreshTokenIdleTtl: value }, 'refreshTokenIdleTtl');
  }
  rejects({ accessTokenTtl: 1.5 }, 'accessTokenTtl');
  rejects({ refreshTokenTtl: 100, refreshTokenIdleTtl: 101 }, 'refreshTokenIdleTtl');
  rejects({ clockTolerance: -1 }, 'clockTolerance');
  rejects({ refreshTokenReuseInterval: Number.NaN }, 'refreshTokenReuseInterval');
  rejects({ maxSessionsPerSubject: 0 }, 'maxSessionsPerSubject');
  rejects({ maxSessionsPerSubject: 1.5 }, 'maxSessionsPerSubject');
  rejects({ verifiedTokenCacheSize: -1 }, 'verifiedTokenCacheSize');
});

S('issuer, audience, storage, broadcaster, clock and refreshTokenSecret are checked', () => {
  rejects({ issuer: '' }, 'issuer');
  rejects({ audience: [] }, 'audience');
  rejects({ audience: ['ok', ''] }, 'audience');
  rejects({ refreshTokenStore: undefined }, 'refreshTokenStore');
  rejects({ refreshTokenStore: { insert() {} } }, 'refreshTokenStore');
  rejects({ invalidAccessTokenCache: {} }, 'invalidAccessTokenCache');
  rejects({ broadcaster: {} }, 'broadcaster');
  rejects({ clock: 5 }, 'clock');
  rejects({ refreshTokenSecret: 'short' }, 'refreshTokenSecret');
  rejects({ refreshTokenSecret: 42 }, 'refreshTokenSecret');
  new JwtUserSessionManager({ ...base(), refreshTokenSecret: 'y'.repeat(32), audience: ['a', 'b'] });
  try {
    new JwtUserSessionManager(null as never);
    assert.unreachable();
  } catch (error) {
    assert.is((error as SessionError).code, 'ERR_CONFIG_INVALID');
  }
});

S.run();

import { createHmac } from 'node:crypto';
import { ReferenceBroadcaster, ReferenceInvalidAccessTokenCache, ReferenceRefreshTokenStore } from './reference-storage.js';
import { JwtUserSessionManager, isSessionError, type JwtUserSessionManagerOptions } from '../src/index.js';

export const SECRET = 'session-core-tests-hmac-secret-0123456789';
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'api';

export interface Harness {
  manager: JwtUserSessionManager;
  store: ReferenceRefreshTokenStore;
  cache: ReferenceInvalidAccessTokenCache;
  clock: { now: number };
  close: () => Promise<void>;
}

/** A manager on memory storage with a controllable clock (starting at the real now). */
export function harness(options: Partial<JwtUserSessionManagerOptions> = {}, broadcaster?: ReferenceBroadcaster): Harness {
  const clock = { now: Date.now() };
  const store = new ReferenceRefreshTokenStore({ clock: () => clock.now });
  const cache = new ReferenceInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: SECRET },
    issuer: ISSUER,
    audience: AUDIENCE,
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
    clock: () => clock.now,
    ...(broadcaster ? { broadcaster } : {}),
    ...options,
  });
  return {
    manager,
    store,
    cache,
    clock,
    close: async () => {
      await manager.close();
      await store.close();
      cache.close();
    },
  };
}

/** The SessionError code a promise (or a call) ends with, 'resolved' when it does not fail; anything else is rethrown. */
export async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isSessionError(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

export const b64 = (value: string | object) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Hand-assembles an HS256-style JWS so tests can sign what the library never would. */
export function forge(header: object, payload: string | object, secret: string | Buffer = SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

export function claimsAt(nowMs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    sid: 'AAAAsessionidsessionidsess',
    jti: 'AAAAAAAAAAAAAAAAAAAAAA',
    iat,
    exp: iat + 600,
    ...overrides,
  };
}

export const HEADER = { alg: 'HS256', kid: 'k1', typ: 'at+jwt' };

/** Deterministic PRNG (mulberry32) so property tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

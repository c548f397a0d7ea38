import { constants, createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as assert from 'uvu/assert';
import { isSessionError, type DpopProofCheck, type SessionErrorCode } from '../src/index.js';
import { dpopRefusalReason, type DpopRefusalReason } from '../src/dpop/refusal.js';

/*
 * DPoP proofs built by hand with node:crypto, so a test can break exactly one
 * rule of RFC 9449 §4.3 in a proof that is otherwise valid and validly signed.
 */

/** A frozen moment (ms): every proof's iat and every check's now derive from it. */
export const NOW = 1_800_000_000_000;
export const IAT = NOW / 1000;
export const URL_ = 'https://api.example.com/api/me';
export const METHOD = 'POST';
export const ACCESS_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

export interface TestKey {
  alg: string;
  privateKey: KeyObject;
  /** The public JWK as node exports it. */
  jwk: Record<string, string>;
  /** The private JWK (with `d`…). */
  privateJwk: Record<string, string>;
}

/*
 * Keys come out of generateKeyPairSync as DER and are imported again: a
 * KeyObject that generateKeyPairSync returns shares its data with the key
 * generation job, and on Node 20 exporting it as a JWK while a garbage
 * collection frees that job deadlocks the process (ExportJWKEdKey holds the
 * key's mutex while it allocates; the job's destructor takes the same mutex).
 * The key-cache flood below exports 1,100 fresh Ed25519 keys and hung CI once.
 */
const DER = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;

function generated(kind: 'ec' | 'ed25519' | 'rsa', options: Record<string, unknown> = {}): { privateKey: KeyObject; publicKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync(kind as 'ec', { ...(options as { namedCurve: string }), ...DER }) as unknown as { publicKey: Buffer; privateKey: Buffer };
  return { privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }), publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }) };
}

export function makeKey(kind: 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'RSA' | 'RSA-PSS' | 'RSA-1024'): TestKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  let alg: string;
  switch (kind) {
    case 'P-256':
    case 'P-384':
    case 'P-521':
      pair = generated('ec', { namedCurve: kind });
      alg = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[kind];
      break;
    case 'Ed25519':
      pair = generated('ed25519');
      alg = 'EdDSA';
      break;
    case 'RSA':
    case 'RSA-PSS':
      pair = generated('rsa', { modulusLength: 2048 });
      alg = kind === 'RSA' ? 'RS256' : 'PS256';
      break;
    case 'RSA-1024':
      pair = generated('rsa', { modulusLength: 1024 });
      alg = 'RS256';
      break;
  }
  return {
    alg,
    privateKey: pair.privateKey,
    jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, string>,
    privateJwk: pair.privateKey.export({ format: 'jwk' }) as Record<string, string>,
  };
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** The signature of `input` by `key` as a JWS writes it for `alg`. */
export function signWith(alg: string, key: KeyObject, input: string): string {
  const data = Buffer.from(input);
  switch (alg) {
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'ES384':
      return sign('sha384', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'ES512':
      return sign('sha512', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'EdDSA':
    case 'Ed25519':
      return sign(null, data, key).toString('base64url');
    case 'RS256':
      return sign('sha256', data, key).toString('base64url');
    case 'PS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url');
    default:
      throw new Error(`no signer for ${alg}`);
  }
}

export interface ProofParts {
  key?: TestKey;
  /** Replaces members of the header ({ typ, alg, jwk }); `undefined` removes one. */
  header?: Record<string, unknown>;
  /** Replaces members of the claims ({ jti, htm, htu, iat, ath, nonce }); `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** The raw header or payload segment, instead of the JSON of the members. */
  rawHeader?: string;
  rawPayload?: string;
  /** Signs with this key instead of `key`'s. */
  signer?: KeyObject;
}

const SIGNERS = new Set(['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256']);
let jtiCounter = 0;
export const DEFAULT_KEY = makeKey('P-256');

/** A proof valid for {@link baseCheck} unless `parts` breaks it. */
export function proof(parts: ProofParts = {}): string {
  const key = parts.key ?? DEFAULT_KEY;
  const header = strip({ typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...parts.header });
  const claims = strip({ jti: `jti-${jtiCounter++}`, htm: METHOD, htu: URL_, iat: IAT, ath: ath(ACCESS_TOKEN), nonce: 'server-nonce', ...parts.claims });
  const input = `${parts.rawHeader ?? b64(header)}.${parts.rawPayload ?? b64(claims)}`;
  // A header whose alg this helper cannot sign with (none, a typo) is signed with the key's own algorithm.
  const alg = SIGNERS.has(header.alg as string) ? (header.alg as string) : key.alg;
  return `${input}.${signWith(alg, parts.signer ?? key.privateKey, input)}`;
}

/** An HS256 "proof" (a MAC, never acceptable) with otherwise valid members. */
export function macProof(secret = 'x'.repeat(32)): string {
  const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: DEFAULT_KEY.jwk })}.${b64({ jti: 'j', htm: METHOD, htu: URL_, iat: IAT })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function strip(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

/** The request every proof above is valid for. */
export function baseCheck(overrides: Partial<DpopProofCheck> = {}): DpopProofCheck {
  return { method: METHOD, url: URL_, accessToken: ACCESS_TOKEN, nonce: 'server-nonce', now: NOW, ...overrides };
}

/** Asserts `run` throws a SessionError of `code` for `reason`, and returns it. */
export function refused(run: () => unknown, code: SessionErrorCode, reason?: DpopRefusalReason): unknown {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `accepted; expected ${code}${reason ? ` (${reason})` : ''}`);
  assert.ok(isSessionError(error), `not a SessionError: ${String(error)}`);
  assert.is((error as { code: string }).code, code, `code (reason ${String(dpopRefusalReason(error))})`);
  if (reason !== undefined) assert.is(dpopRefusalReason(error), reason, 'reason');
  return error;
}

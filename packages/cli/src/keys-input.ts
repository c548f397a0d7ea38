import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import { fromEnvironment } from './args.js';
import { CliError, usage } from './errors.js';
import { urlCredentials } from './url-credentials.js';

/** A verification key as jose takes it, and the algorithms it may verify. */
export interface VerificationKey {
  key: Uint8Array | JWTVerifyGetKey;
  algorithms: string[] | undefined;
  /** What was used, for the report: `secret from $VAR`, a file, a URL. */
  source: string;
  /** Fetched over the network (its failures are the network's, not the key's). */
  remote: boolean;
}

const HMAC = ['HS256', 'HS384', 'HS512'];
/** Members of a private or secret JWK: never used for verification, and never printed. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function publicOnly(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete out[member];
  return out as JWK;
}

/**
 * A JWK Set (`{ keys: [...] }`), one JWK, or what `keys generate` prints
 * (`{ kid, algorithm, privateKey, publicKey }` or `{ kid, algorithm, secret }`).
 */
export function jwksFromFile(raw: unknown, file: string): { keys: JWK[] } | Uint8Array {
  if (raw === null || typeof raw !== 'object') throw new CliError('ERR_KEY_UNUSABLE', `${file}: not a JWK, a JWK Set or a generated key`);
  const value = raw as Record<string, unknown>;
  if (Array.isArray(value.keys)) return { keys: (value.keys as JWK[]).map(publicOnly) };
  if (typeof value.algorithm === 'string' && typeof value.secret === 'string') return new TextEncoder().encode(value.secret);
  const generated = (value.publicKey ?? value.privateKey) as JWK | undefined;
  if (typeof value.algorithm === 'string' && generated !== null && typeof generated === 'object') {
    return { keys: [publicOnly({ ...generated, kid: String(value.kid ?? generated.kid ?? ''), alg: value.algorithm })] };
  }
  if (typeof value.kty === 'string') return { keys: [publicOnly(value as JWK)] };
  throw new CliError('ERR_KEY_UNUSABLE', `${file}: not a JWK, a JWK Set or a generated key`);
}

export interface KeyFlags {
  'secret-env'?: string | undefined;
  jwk?: string | undefined;
  jwks?: string | undefined;
}

/** The one key source given on the command line, or undefined when none was. */
export async function verificationKey(flags: KeyFlags, env: Readonly<Record<string, string | undefined>>): Promise<VerificationKey | undefined> {
  const given = (['secret-env', 'jwk', 'jwks'] as const).filter((name) => flags[name] !== undefined);
  if (given.length > 1) throw usage(`token inspect: give one of --secret-env, --jwk, --jwks (got ${given.map((n) => `--${n}`).join(', ')})`);
  if (flags['secret-env'] !== undefined) {
    const name = flags['secret-env'];
    const secret = fromEnvironment(name, '--secret-env', env);
    return { key: new TextEncoder().encode(secret), algorithms: HMAC, source: `secret from $${name}`, remote: false };
  }
  if (flags.jwk !== undefined) {
    const file = flags.jwk;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (cause) {
      throw new CliError('ERR_KEY_UNUSABLE', `${file}: cannot read a JSON key from it`, { cause });
    }
    const set = jwksFromFile(raw, file);
    if (set instanceof Uint8Array) return { key: set, algorithms: HMAC, source: file, remote: false };
    try {
      return { key: createLocalJWKSet(set), algorithms: undefined, source: file, remote: false };
    } catch (cause) {
      throw new CliError('ERR_KEY_UNUSABLE', `${file}: not a usable JWK Set`, { cause });
    }
  }
  if (flags.jwks !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.jwks);
    } catch {
      throw usage('--jwks must be an http(s) URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage('--jwks must be an http(s) URL');
    // The source is printed (report, --json, error messages): never with the
    // URL's credentials. fetch() refuses a URL that carries them, so they go
    // as Basic authorization instead.
    const bare = new URL(url.href);
    bare.username = '';
    bare.password = '';
    const headers: Record<string, string> = {};
    if (url.username !== '' || url.password !== '') {
      const { username, password } = urlCredentials(url, '--jwks');
      headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    }
    return { key: createRemoteJWKSet(bare, { timeoutDuration: 5000, headers }), algorithms: undefined, source: bare.href, remote: true };
  }
  return undefined;
}

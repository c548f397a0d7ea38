import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { describeArgument, parse, positionals } from '../args.js';
import { emit, type Context } from '../context.js';
import { usage } from '../errors.js';

export const GENERATED_ALGORITHMS = ['HS256', 'ES256', 'EdDSA', 'RS256'] as const;
export type GeneratedAlgorithm = (typeof GENERATED_ALGORITHMS)[number];

/** What `keys generate` prints: exactly one entry of session-core's `keys` option. */
export type GeneratedKey =
  | { kid: string; algorithm: 'HS256'; secret: string }
  | { kid: string; algorithm: Exclude<GeneratedAlgorithm, 'HS256'>; privateKey: JWK; publicKey: JWK };

const OPTIONS = {
  alg: { type: 'string' },
  kid: { type: 'string' },
} as const;

function defaultKid(now: number): string {
  // Date first so keys sort by age in a listing; random so two keys made the same day differ.
  return `${new Date(now).toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
}

function pair(algorithm: Exclude<GeneratedAlgorithm, 'HS256'>) {
  switch (algorithm) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

/** A fresh key: 32 random bytes for HS256 (as 43 base64url characters), or a key pair as JWKs carrying the kid. */
export function generateKey(algorithm: GeneratedAlgorithm, kid: string): GeneratedKey {
  if (algorithm === 'HS256') return { kid, algorithm, secret: randomBytes(32).toString('base64url') };
  const { privateKey, publicKey } = pair(algorithm);
  const meta = { kid, alg: algorithm, use: 'sig' };
  return {
    kid,
    algorithm,
    privateKey: { ...(privateKey.export({ format: 'jwk' }) as JWK), ...meta },
    publicKey: { ...(publicKey.export({ format: 'jwk' }) as JWK), ...meta },
  };
}

async function generate(args: string[], ctx: Context): Promise<number> {
  const { values, positionals: rest } = parse(args, OPTIONS);
  positionals(rest, [], 'keys generate');
  const alg = values.alg;
  if (alg === undefined) throw usage(`keys generate: --alg is required (${GENERATED_ALGORITHMS.join(', ')})`);
  if (!GENERATED_ALGORITHMS.includes(alg as GeneratedAlgorithm)) throw usage(`keys generate: --alg must be one of ${GENERATED_ALGORITHMS.join(', ')}`);
  const kid = values.kid ?? defaultKid(ctx.now());
  if (kid.length === 0 || kid.length > 256) throw usage('keys generate: --kid must be 1 to 256 characters');
  const key = generateKey(alg as GeneratedAlgorithm, kid);
  // The JSON is the product either way: it is what the `keys` option takes.
  emit(ctx, values.json, key, () => JSON.stringify(key, null, 2));
  if (!values.json) {
    ctx.output.err(
      key.algorithm === 'HS256'
        ? 'keep "secret" secret: every issuing and verifying service needs it. Prepend the key to `keys` to rotate.'
        : 'keep "privateKey" secret (issuer only); resource servers need "publicKey" (or the issuer\'s jwks()). Prepend the key to `keys` to rotate.',
    );
  }
  return 0;
}

export async function keysCommand(args: string[], ctx: Context): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub.startsWith('-')) throw usage('keys: missing subcommand (generate)');
  if (sub === 'generate') return generate(rest, ctx);
  throw usage(`keys: unknown subcommand ${describeArgument(sub, 1)} (generate)`);
}

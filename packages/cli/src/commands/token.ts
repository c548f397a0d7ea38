import type { SessionErrorReason } from '@jwt-session/session-core';
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { REDIS_OPTIONS, describeArgument, parse, positionals } from '../args.js';
import { emit, type Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { verificationKey } from '../keys-input.js';
import { duration, oneLine, table, timeView, type TimeView } from '../output.js';
import { revokedByStream } from '../library.js';
import { redisTarget, withRedis } from '../with-redis.js';

const OPTIONS = {
  ...REDIS_OPTIONS,
  'secret-env': { type: 'string' },
  jwk: { type: 'string' },
  jwks: { type: 'string' },
} as const;

const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const;

export type Signature = { checked: false } | { checked: true; verified: true; source: string } | { checked: true; verified: false; source: string; reason: string };
export type Verdict = 'valid' | 'unverified' | 'signature-invalid' | 'expired' | 'not-yet-valid' | 'revoked';

/**
 * jose's failures that mean "this token does not verify under these keys"
 * (anything else is the keys' fault): the text shown, and the reason a
 * verifier would give (session-core's SESSION_ERROR_REASONS).
 */
const REFUSALS: Record<string, [string, SessionErrorReason]> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: ['signature does not verify', 'signature'],
  ERR_JWKS_NO_MATCHING_KEY: ['no key matches the token header (kid/alg)', 'unknown_key'],
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: ['several keys match the token header and none verifies', 'unknown_key'],
  ERR_JOSE_ALG_NOT_ALLOWED: ['algorithm not allowed for this key', 'algorithm'],
  ERR_JWS_INVALID: ['not a valid JWS', 'header'],
  ERR_JOSE_NOT_SUPPORTED: ['algorithm not supported', 'algorithm'],
};

async function checkSignature(token: string, flags: Parameters<typeof verificationKey>[0], ctx: Context): Promise<{ signature: Signature; reason?: SessionErrorReason }> {
  const key = await verificationKey(flags, ctx.env);
  if (key === undefined) return { signature: { checked: false } };
  try {
    await compactVerify(token, key.key as Parameters<typeof compactVerify>[1], key.algorithms === undefined ? {} : { algorithms: key.algorithms });
    return { signature: { checked: true, verified: true, source: key.source } };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && Object.hasOwn(REFUSALS, code)) {
      const [text, reason] = REFUSALS[code]!;
      return { signature: { checked: true, verified: false, source: key.source, reason: text }, reason };
    }
    // WebCrypto refuses the key material itself (DOMException), or jose the JWK's shape.
    const badKey = code === 'ERR_JWK_INVALID' || (error as Error).name === 'DataError' || error instanceof DOMException;
    if (key.remote && !badKey) {
      // JWKS fetch failures: timeout, HTTP error, not JSON, unreachable host.
      throw new CliError('ERR_KEYS_UNAVAILABLE', `${key.source}: cannot fetch the keys${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
    }
    throw new CliError('ERR_KEY_UNUSABLE', `${key.source}: the key cannot verify this token`, { cause: error });
  }
}

function decode(token: string): { header: ProtectedHeaderParameters; claims: JWTPayload } {
  try {
    if (token.split('.').length !== 3) throw new Error('not three segments');
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (cause) {
    // Fixed text: the argument itself is never echoed.
    throw new CliError('ERR_TOKEN_MALFORMED', 'the argument is not a compact JWT (header.payload.signature, base64url JSON)', { cause });
  }
}

/** The verdict, and for a refusal its reason: the one `JwtSessionVerifier.read()` would give (SESSION_ERROR_REASONS). */
function verdictOf(
  signature: { signature: Signature; reason?: SessionErrorReason },
  times: Record<string, TimeView>,
  revokedBy: SessionErrorReason | undefined,
  now: number,
): { verdict: Verdict; reason?: SessionErrorReason } {
  if (signature.signature.checked && !signature.signature.verified) return { verdict: 'signature-invalid', ...(signature.reason === undefined ? {} : { reason: signature.reason }) };
  if (revokedBy !== undefined) return { verdict: 'revoked', reason: revokedBy };
  if (times.exp !== undefined && times.exp.unix * 1000 <= now) return { verdict: 'expired', reason: 'expired' };
  if (times.nbf !== undefined && times.nbf.unix * 1000 > now) return { verdict: 'not-yet-valid', reason: 'not_yet_valid' };
  return { verdict: signature.signature.checked ? 'valid' : 'unverified' };
}

async function inspect(args: string[], ctx: Context): Promise<number> {
  const { values, positionals: rest } = parse(args, OPTIONS);
  let [token] = positionals(rest, ['jwt'], 'token inspect');
  // `-` reads the token from stdin, so it appears neither in argv (ps) nor in the shell history.
  if (token === '-') token = (await ctx.stdin()).trim();
  // Revocation is checked when asked for on the command line only: $JWT_SESSION_REDIS_URL alone does not make an offline inspection connect.
  const target = redisTarget(values, ctx.env, 'token inspect', false);
  if (target === undefined && (values.cluster || values.prefix !== undefined)) throw usage('token inspect: --cluster and --prefix need --redis or --redis-env');
  const { header, claims } = decode(token!);
  const now = ctx.now();
  const times: Record<string, TimeView> = {};
  for (const name of TIME_CLAIMS) if (typeof claims[name] === 'number' && Number.isFinite(claims[name])) times[name] = timeView(claims[name] as number);
  const checked = await checkSignature(token!, values, ctx);
  const { signature } = checked;

  let revocation: { checked: true; revoked: boolean; stream: string } | { checked: false; reason?: string } = { checked: false };
  let revokedBy: SessionErrorReason | undefined;
  if (target !== undefined) {
    const sub = claims.sub;
    if (typeof sub === 'string' && sub.length > 0) {
      const { by, ...seen } = await withRedis(target, (client) => revokedByStream(client, values.prefix, header.typ, { ...claims, sub }));
      revocation = { checked: true, ...seen };
      revokedBy = by;
    } else revocation = { checked: false, reason: 'the token has no sub: revocations are by subject and session' };
  }
  const { verdict, reason } = verdictOf(checked, times, revokedBy, now);
  const exp = times.exp?.iso === null ? undefined : times.exp;
  const report = { verdict, ...(reason === undefined ? {} : { reason }), header, claims, times, ...(exp ? { expiresInSeconds: Math.round((exp.unix * 1000 - now) / 1000) } : {}), signature, revocation };

  emit(ctx, values.json, report, () => {
    const lines = [`verdict    ${verdict}${reason === undefined ? '' : ` (reason: ${reason})`}`];
    lines.push(
      `signature  ${
        !signature.checked ? 'not checked (give --secret-env, --jwk or --jwks)' : signature.verified ? `verified with ${signature.source}` : `INVALID: ${signature.reason} (${signature.source})`
      }`,
    );
    if (revocation.checked) lines.push(`revoked    ${revocation.revoked ? 'YES, by an invalidation on' : 'no invalidation on'} ${revocation.stream}`);
    else if (revocation.reason !== undefined) lines.push(`revoked    not checked: ${revocation.reason}`);
    if (exp) lines.push(`expires    ${exp.unix * 1000 <= now ? `${duration(now - exp.unix * 1000)} ago` : `in ${duration(exp.unix * 1000 - now)}`}`);
    else if (times.exp) lines.push(`expires    out of range (exp ${times.exp.unix} is not a representable date)`);
    lines.push('', 'header', table(Object.entries(header).map(([k, v]) => [`  ${k}`, JSON.stringify(v)])));
    const rows = Object.entries(claims).map(([k, v]) => {
      const t = times[k];
      if (t === undefined) return [`  ${k}`, oneLine(JSON.stringify(v))];
      return [`  ${k}`, t.iso === null ? `${t.unix}  out of range (not a representable date)` : `${t.unix}  ${t.local}  ${t.iso}`];
    });
    lines.push('', 'claims', table(rows));
    return lines.join('\n');
  });
  return verdict === 'valid' || verdict === 'unverified' ? 0 : 1;
}

export async function tokenCommand(args: string[], ctx: Context): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub.startsWith('-')) throw usage('token: missing subcommand (inspect)');
  if (sub === 'inspect') return inspect(rest, ctx);
  throw usage(`token: unknown subcommand ${describeArgument(sub, 1)} (inspect)`);
}

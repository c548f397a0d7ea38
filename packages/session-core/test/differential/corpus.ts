import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { resolveKeys } from '../../src/keys.js';
import { signAccessToken } from '../../src/lib/access-token.js';
import { prng } from '../helpers.js';
import type { Setup, TestKey } from './setup.js';

/**
 * The tokens both verifiers are given. Deterministic for a seed. Three parts:
 * valid tokens of every algorithm (signed by jose, by this library and by
 * node:crypto directly); systematic mutations of them (every byte of every
 * segment flipped, with and without re-signing, segment shuffles and
 * re-encodings, and tables of header and payload variants, each signed with
 * the right key so the check it names is the one that decides); then random
 * combinations of all of these up to the requested count.
 */
export interface CorpusToken {
  /** What was done to it, for a failure message. */
  label: string;
  token: string;
  /** Not a valid token as issued: counted as a mutation. */
  mutated: boolean;
}

const enc = (bytes: Buffer | string) => (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('base64url');
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/** A token with arbitrary header and payload bytes, signed by `key` as a holder of that key could. */
export function forge(key: TestKey, header: Buffer, payload: Buffer): string {
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${enc(key.signRaw(input))}`;
}

type Payload = Record<string, unknown>;

function baseClaims(setup: Setup, n: number): Payload {
  const iat = Math.floor(setup.now / 1000) - 30;
  return {
    roles: ['user', `tier-${n % 3}`],
    org: { id: n, name: 'Ünïcødé “org” 🙂' },
    iss: setup.issuer,
    aud: typeof setup.audience === 'string' ? setup.audience : setup.audience[0],
    sub: `user-${n}`,
    sid: `AAAAsessionid${String(n).padStart(13, '0')}`,
    jti: `jti${String(n).padStart(19, '0')}`,
    iat,
    exp: iat + 900,
  };
}

function headerOf(key: TestKey): Payload {
  return { alg: key.algorithm, kid: key.kid, typ: 'at+jwt' };
}

const attackerJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });

/** Header variants: [label, header bytes]. Objects are serialised with JSON.stringify; strings and Buffers are raw. */
function headerVariants(key: TestKey, other: TestKey): Array<[string, Buffer]> {
  const h = headerOf(key);
  const obj = (label: string, value: unknown): [string, Buffer] => [label, json(value)];
  const raw = (label: string, value: string | Buffer): [string, Buffer] => [label, typeof value === 'string' ? Buffer.from(value, 'utf8') : value];
  const text = JSON.stringify(h);
  return [
    obj('header as emitted', h),
    obj('members reordered', { typ: h.typ, kid: h.kid, alg: h.alg }),
    raw('whitespace', JSON.stringify(h, null, 2)),
    raw('trailing newline', `${text}\n`),
    raw('BOM then JSON', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(h)])),
    raw('two BOMs', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), json(h)])),
    raw('UTF-16LE JSON', Buffer.from(text, 'utf16le')),
    raw('invalid UTF-8 in kid', Buffer.concat([Buffer.from(`{"alg":"${h.alg}","typ":"at+jwt","kid":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
    raw('overlong UTF-8 quote', Buffer.concat([Buffer.from(`{"alg":"${h.alg}","typ":"at+jwt","kid":"${key.kid}`), Buffer.from([0xc0, 0xa2]), Buffer.from('}')])),
    raw('lone surrogate escape in kid', `{"alg":"${h.alg}","typ":"at+jwt","kid":"${key.kid}\\ud800"}`),
    raw('duplicate alg, last valid', `{"alg":"none","alg":"${h.alg}","kid":"${key.kid}","typ":"at+jwt"}`),
    raw('duplicate alg, last none', `{"alg":"${h.alg}","alg":"none","kid":"${key.kid}","typ":"at+jwt"}`),
    raw('__proto__ member', `{"__proto__":{"x":1},"alg":"${h.alg}","kid":"${key.kid}","typ":"at+jwt"}`),
    raw('trailing garbage', `${text}x`),
    raw('truncated', text.slice(0, -1)),
    raw('array', `[${text}]`),
    raw('null', 'null'),
    raw('string', JSON.stringify(text)),
    raw('number', '1'),
    raw('empty', ''),
    obj('alg none', { ...h, alg: 'none' }),
    obj('alg None', { ...h, alg: 'None' }),
    obj('alg lower case', { ...h, alg: key.algorithm.toLowerCase() }),
    obj('alg of the other key', { ...h, alg: other.algorithm }),
    obj('alg HS256', { ...h, alg: 'HS256' }),
    obj('alg RS256', { ...h, alg: 'RS256' }),
    obj('alg empty', { ...h, alg: '' }),
    obj('alg null', { ...h, alg: null }),
    obj('alg number', { ...h, alg: 256 }),
    obj('alg missing', { kid: h.kid, typ: h.typ }),
    obj('kid missing', { alg: h.alg, typ: h.typ }),
    obj('kid of the other key', { ...h, kid: other.kid }),
    obj('kid unknown', { ...h, kid: 'k9' }),
    obj('kid empty', { ...h, kid: '' }),
    obj('kid with a space', { ...h, kid: `${key.kid} ` }),
    obj('kid upper case', { ...h, kid: key.kid.toUpperCase() }),
    obj('kid number', { ...h, kid: 1 }),
    obj('kid null', { ...h, kid: null }),
    obj('kid array', { ...h, kid: [key.kid] }),
    obj('typ missing', { alg: h.alg, kid: h.kid }),
    obj('typ JWT', { ...h, typ: 'JWT' }),
    obj('typ AT+JWT', { ...h, typ: 'AT+JWT' }),
    obj('typ at+JWT', { ...h, typ: 'at+JWT' }),
    obj('typ application/at+jwt', { ...h, typ: 'application/at+jwt' }),
    obj('typ application/AT+JWT', { ...h, typ: 'application/AT+JWT' }),
    obj('typ with a space', { ...h, typ: 'at+jwt ' }),
    obj('typ empty', { ...h, typ: '' }),
    obj('typ number', { ...h, typ: 1 }),
    obj('typ null', { ...h, typ: null }),
    obj('crit b64 with b64 true', { ...h, crit: ['b64'], b64: true }),
    obj('crit b64 with b64 false', { ...h, crit: ['b64'], b64: false }),
    obj('crit b64 without b64', { ...h, crit: ['b64'] }),
    obj('crit exp', { ...h, crit: ['exp'], exp: 1 }),
    obj('crit unknown', { ...h, crit: ['x-unknown'], 'x-unknown': 1 }),
    obj('crit empty', { ...h, crit: [] }),
    obj('crit string', { ...h, crit: 'b64' }),
    obj('crit empty string', { ...h, crit: [''] }),
    obj('crit duplicate', { ...h, crit: ['b64', 'b64'], b64: true }),
    obj('b64 true without crit', { ...h, b64: true }),
    obj('b64 false without crit', { ...h, b64: false }),
    obj('jwk', { ...h, jwk: attackerJwk }),
    obj('jku', { ...h, jku: 'https://evil.test/jwks' }),
    obj('x5u', { ...h, x5u: 'https://evil.test/x5u' }),
    obj('x5c', { ...h, x5c: ['MIIB'] }),
    obj('x5t', { ...h, x5t: 'AAAA' }),
    obj('cty JWT', { ...h, cty: 'JWT' }),
    obj('zip DEF', { ...h, zip: 'DEF' }),
    obj('enc', { ...h, enc: 'A256GCM' }),
    obj('unknown member', { ...h, foo: 1 }),
    obj('unknown member null', { ...h, foo: null }),
  ];
}

/** Payload variants relative to a valid claims set: [label, payload bytes]. */
function payloadVariants(setup: Setup, base: Payload): Array<[string, Buffer]> {
  const s = Math.floor(setup.now / 1000);
  const tol = setup.clockTolerance;
  const obj = (label: string, changes: Payload): [string, Buffer] => {
    const value: Payload = { ...base };
    for (const [name, v] of Object.entries(changes)) {
      if (v === undefined) delete value[name];
      else value[name] = v;
    }
    return [label, json(value)];
  };
  const raw = (label: string, value: string | Buffer): [string, Buffer] => [label, typeof value === 'string' ? Buffer.from(value, 'utf8') : value];
  const text = JSON.stringify(base);
  const deep = (depth: number) => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { n: v };
    return v;
  };
  const variants: Array<[string, Buffer]> = [
    obj('claims as issued', {}),
    obj('exp at now - tolerance (expired)', { exp: s - tol }),
    obj('exp at now - tolerance + 1', { exp: s - tol + 1 }),
    obj('exp at now', { exp: s }),
    obj('exp long past', { exp: s - 100_000, iat: s - 200_000 }),
    obj('exp 0', { exp: 0 }),
    obj('exp negative', { exp: -1 }),
    obj('exp fractional, just past', { exp: s - tol + 0.5 }),
    obj('exp fractional, just before', { exp: s - tol - 0.5 }),
    obj('exp far future', { exp: 9e15 }),
    obj('exp string', { exp: String(s + 600) }),
    obj('exp null', { exp: null }),
    obj('exp array', { exp: [s + 600] }),
    obj('exp missing', { exp: undefined }),
    raw('exp 1e999 (Infinity)', text.replace(/"exp":\d+/, '"exp":1e999')),
    raw('exp -1e999', text.replace(/"exp":\d+/, '"exp":-1e999')),
    raw('exp -0', text.replace(/"exp":\d+/, '"exp":-0')),
    obj('nbf past', { nbf: s - 60 }),
    obj('nbf at now + tolerance', { nbf: s + tol }),
    obj('nbf at now + tolerance + 1', { nbf: s + tol + 1 }),
    obj('nbf fractional just inside', { nbf: s + tol + 0.25 }),
    obj('nbf string', { nbf: String(s) }),
    obj('nbf null', { nbf: null }),
    obj('nbf far future', { nbf: 9e15 }),
    obj('iat at now + tolerance', { iat: s + tol }),
    obj('iat at now + tolerance + 1', { iat: s + tol + 1, exp: s + tol + 900 }),
    obj('iat far future', { iat: s + 100_000, exp: s + 101_000 }),
    obj('iat fractional', { iat: s + 0.9 }),
    obj('iat negative', { iat: -5 }),
    obj('iat string', { iat: String(s) }),
    obj('iat null', { iat: null }),
    obj('iat missing', { iat: undefined }),
    raw('iat 1e999', text.replace(/"iat":\d+/, '"iat":1e999')),
    obj('iss wrong', { iss: 'https://evil.test' }),
    obj('iss trailing slash', { iss: `${setup.issuer}/` }),
    obj('iss array', { iss: [setup.issuer] }),
    obj('iss null', { iss: null }),
    obj('iss missing', { iss: undefined }),
    obj('aud other', { aud: 'other-api' }),
    obj('aud admin', { aud: 'admin' }),
    obj('aud list containing ours', { aud: ['x', 'api'] }),
    obj('aud list without ours', { aud: ['x', 'y'] }),
    obj('aud list with a number', { aud: [1, 'api'] }),
    obj('aud empty list', { aud: [] }),
    obj('aud number', { aud: 1 }),
    obj('aud null', { aud: null }),
    obj('aud object', { aud: { api: true } }),
    obj('aud missing', { aud: undefined }),
    obj('aud upper case', { aud: 'API' }),
  ];
  for (const claim of ['sub', 'sid', 'jti']) {
    variants.push(obj(`${claim} empty`, { [claim]: '' }), obj(`${claim} number`, { [claim]: 1 }), obj(`${claim} null`, { [claim]: null }));
    variants.push(obj(`${claim} array`, { [claim]: ['a'] }), obj(`${claim} missing`, { [claim]: undefined }), obj(`${claim} long`, { [claim]: 'x'.repeat(2000) }));
  }
  variants.push(
    obj('expired and wrong iss', { exp: s - 100, iss: 'x' }),
    obj('expired and wrong aud', { exp: s - 100, aud: 'x' }),
    obj('expired and empty sub', { exp: s - 100, sub: '' }),
    obj('expired and sid missing', { exp: s - 100, sid: undefined }),
    obj('expired and iat in the future', { exp: s - 100, iat: s + 1000 }),
    obj('expired and iat string', { exp: s - 100, iat: 'now' }),
    obj('expired and nbf in the future', { exp: s - 100, nbf: s + 1000 }),
    obj('expired and nbf string', { exp: s - 100, nbf: 'x' }),
    obj('expired and jti number', { exp: s - 100, jti: 7 }),
    obj('huge string claim', { blob: 'y'.repeat(4000) }),
    obj('too big for the syntax limit', { blob: 'y'.repeat(7000) }),
    obj('big array claim', { list: Array.from({ length: 600 }, (_, i) => i) }),
    obj('nested 300 deep', { nested: deep(300) }),
    raw('arrays nested 1000 deep', text.replace(/^\{/, `{"deep":${'['.repeat(1000)}${']'.repeat(1000)},`)),
    obj('unicode and escapes', { name: '\u0000\u2028\u{1f600}"\\', empty: {} }),
    raw('lone surrogate escape', text.replace(/^\{/, '{"x":"\\udc00",')),
    raw('__proto__ claim', text.replace(/^\{/, '{"__proto__":{"admin":true},')),
    raw('constructor claim', text.replace(/^\{/, '{"constructor":{"prototype":{"admin":true}},')),
    raw('duplicate sub, last empty', text.replace(/^\{/, '{"sub":"z",').replace(/"sub":"user-\d+"/, '"sub":""')),
    raw('duplicate exp, last expired', text.replace(/}$/, `,"exp":${s - 1000}}`)),
    raw('BOM then JSON', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
    raw('whitespace around', `\n\t ${text} \r\n`),
    raw('invalid UTF-8 in a claim', Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])),
    raw('surrogate bytes (CESU-8)', Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])),
    raw('truncated UTF-8 at the end', Buffer.concat([Buffer.from(text), Buffer.from([0xe2, 0x82])])),
    raw('Latin-1 bytes', Buffer.from(text.replace(/"}$/, 'é"}'), 'latin1')),
    raw('UTF-16LE', Buffer.from(text, 'utf16le')),
    raw('not JSON', 'not json'),
    raw('truncated JSON', text.slice(0, -1)),
    raw('trailing garbage', `${text}}`),
    raw('empty', ''),
    raw('array', `[${text}]`),
    raw('string', JSON.stringify(text)),
    raw('number', '42'),
    raw('null', 'null'),
    raw('true', 'true'),
    raw('empty object', '{}'),
  );
  return variants;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function flipByte(segment: string, index: number, bit: number): string {
  const bytes = Buffer.from(segment, 'base64url');
  bytes[index]! ^= 1 << bit;
  return bytes.toString('base64url');
}

/** Valid tokens: per key, one signed by jose, one by this library's signer, one by node:crypto directly. */
export async function validTokens(setup: Setup): Promise<Array<{ key: TestKey; token: string; signer: string; claims: Payload }>> {
  const resolved = resolveKeys(setup.keys.map((k) => k.config));
  const out: Array<{ key: TestKey; token: string; signer: string; claims: Payload }> = [];
  for (const [i, key] of setup.keys.entries()) {
    const claims = baseClaims(setup, i);
    out.push({ key, signer: 'jose', claims, token: await new SignJWT(claims).setProtectedHeader(headerOf(key) as never).sign(key.signKey) });
    out.push({ key, signer: 'lib/jws', claims, token: signAccessToken(JSON.stringify(claims), resolved[i]!) });
    out.push({ key, signer: 'node:crypto', claims, token: forge(key, json(headerOf(key)), json(claims)) });
  }
  return out;
}

export interface CorpusOptions {
  /** Random tokens after the systematic part. */
  random: number;
  /** 1: flip every byte of every segment; n: every n-th byte (a quicker run). */
  byteStride: number;
  seed: number;
}

export async function* corpus(setup: Setup, { random: randomCount, byteStride, seed }: CorpusOptions): AsyncGenerator<CorpusToken> {
  const valid = await validTokens(setup);
  const keys = setup.keys;
  for (const v of valid) yield { label: `valid ${v.key.algorithm} signed by ${v.signer}`, token: v.token, mutated: false };

  // Every byte of every segment of one token per algorithm, one bit each; header and payload also re-signed.
  for (const v of valid.filter((t) => t.signer === 'jose')) {
    const parts = v.token.split('.') as [string, string, string];
    for (let segment = 0; segment < 3; segment++) {
      const length = Buffer.from(parts[segment]!, 'base64url').length;
      for (let index = segment % byteStride; index < length; index += byteStride) {
        const copy = [...parts];
        copy[segment] = flipByte(parts[segment]!, index, index % 8);
        const label = `${v.key.algorithm} segment ${segment} byte ${index} bit ${index % 8}`;
        yield { label, token: copy.join('.'), mutated: true };
        if (segment < 2) {
          yield { label: `${label}, re-signed`, token: forge(v.key, Buffer.from(copy[0]!, 'base64url'), Buffer.from(copy[1]!, 'base64url')), mutated: true };
        }
      }
    }
  }

  // Segment order, count and spelling.
  for (const v of valid.filter((t) => t.signer === 'lib/jws')) {
    const [h, p, s] = v.token.split('.') as [string, string, string];
    const shapes: Array<[string, string]> = [
      ['h.s.p', `${h}.${s}.${p}`],
      ['p.h.s', `${p}.${h}.${s}`],
      ['p.s.h', `${p}.${s}.${h}`],
      ['s.h.p', `${s}.${h}.${p}`],
      ['s.p.h', `${s}.${p}.${h}`],
      ['h.h.s', `${h}.${h}.${s}`],
      ['h.p.p', `${h}.${p}.${p}`],
      ['h.p.', `${h}.${p}.`],
      ['h..s', `${h}..${s}`],
      ['.p.s', `.${p}.${s}`],
      ['h.p', `${h}.${p}`],
      ['h.p.s.s', `${h}.${p}.${s}.${s}`],
      ['JWE-shaped', `${h}..${p}.${s}.${s}`],
      ['padded signature', `${h}.${p}.${s}${'='.repeat((4 - (s.length % 4)) % 4 || 1)}`],
      ['padded header', `${h}${'='.repeat((4 - (h.length % 4)) % 4 || 1)}.${p}.${s}`],
      ['padded payload', `${h}.${p}${'='.repeat((4 - (p.length % 4)) % 4 || 1)}.${s}`],
      ['standard base64 alphabet', `${Buffer.from(h, 'base64url').toString('base64')}.${Buffer.from(p, 'base64url').toString('base64')}.${Buffer.from(s, 'base64url').toString('base64')}`],
      ['trailing dot', `${v.token}.`],
      ['leading space', ` ${v.token}`],
      ['trailing newline', `${v.token}\n`],
      ['signature truncated by one char', v.token.slice(0, -1)],
      ['signature with one char more', `${v.token}A`],
      ['signature empty', `${h}.${p}.`],
      ['signature of another token', `${h}.${p}.${valid[(valid.indexOf(v) + 3) % valid.length]!.token.split('.')[2]}`],
    ];
    // Non-canonical last characters: the same bytes spelled differently.
    for (const [name, seg, at] of [['header', h, 0], ['payload', p, 1], ['signature', s, 2]] as const) {
      const last = ALPHABET.indexOf(seg.at(-1)!);
      for (const bit of [1, 2, 4, 8]) {
        const twin = seg.slice(0, -1) + ALPHABET[last ^ bit];
        const copy = [h, p, s];
        copy[at] = twin;
        shapes.push([`${name} last char xor ${bit}`, copy.join('.')]);
      }
    }
    for (const [label, token] of shapes) yield { label: `${v.key.algorithm} ${label}`, token, mutated: true };
  }

  // Header and payload tables, signed with the right key (and some with another).
  for (const [i, key] of keys.entries()) {
    const other = keys[(i + 3) % keys.length]!;
    const claims = baseClaims(setup, i);
    for (const [label, header] of headerVariants(key, other)) {
      yield { label: `${key.algorithm} header: ${label}`, token: forge(key, header, json(claims)), mutated: true };
      if (label.includes('other key')) yield { label: `${key.algorithm} header: ${label}, signed by the other key`, token: forge(other, header, json(claims)), mutated: true };
    }
    for (const [label, payload] of payloadVariants(setup, claims)) {
      yield { label: `${key.algorithm} payload: ${label}`, token: forge(key, json(headerOf(key)), payload), mutated: true };
    }
  }

  // Random combinations.
  const rand = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  // HMAC keys more often: RSA signing costs ~1 ms per token and would dominate the run.
  const weighted = keys.flatMap((k) => (k.algorithm.startsWith('HS') ? [k, k, k] : k.algorithm.startsWith('RS') || k.algorithm.startsWith('PS') ? [k] : [k, k]));
  const tables = new Map(
    keys.map((k, i) => {
      const claims = baseClaims(setup, i);
      return [k.kid, { headers: headerVariants(k, keys[(i + 3) % keys.length]!), claims, payloads: payloadVariants(setup, claims) }];
    }),
  );
  for (let n = 0; n < randomCount; n++) {
    const key = pick(weighted);
    const table = tables.get(key.kid)!;
    const claims = table.claims;
    const [hLabel, header] = rand() < 0.7 ? (['emitted', json(headerOf(key))] as [string, Buffer]) : pick(table.headers);
    const variants = table.payloads;
    // Stack up to three payload changes by taking each variant's changed claims in turn.
    let payload = rand() < 0.3 ? json(claims) : pick(variants)[1];
    let pLabel = 'claims as issued';
    if (rand() < 0.4) {
      const [label, bytes] = pick(variants);
      try {
        const merged = { ...(JSON.parse(payload.toString()) as Payload), ...(JSON.parse(bytes.toString()) as Payload) };
        payload = json(merged);
        pLabel = `merged with ${label}`;
      } catch {
        payload = bytes;
        pLabel = label;
      }
    }
    const signer = rand() < 0.9 ? key : pick(keys);
    let token = forge(signer, header, payload);
    let tail = '';
    const r = rand();
    if (r < 0.15) {
      // One character replaced anywhere.
      const at = Math.floor(rand() * token.length);
      token = token.slice(0, at) + pick([...ALPHABET, '.', '=', '+', '/']) + token.slice(at + 1);
      tail = `, char ${at} replaced`;
    } else if (r < 0.3) {
      const parts = token.split('.');
      const segment = Math.floor(rand() * 3);
      const length = Buffer.from(parts[segment]!, 'base64url').length;
      if (length > 0) {
        const index = Math.floor(rand() * length);
        parts[segment] = flipByte(parts[segment]!, index, Math.floor(rand() * 8));
        token = parts.join('.');
        tail = `, segment ${segment} byte ${index} flipped`;
      }
    }
    yield { label: `random #${n}: ${key.algorithm} header ${hLabel}, payload ${pLabel}, signed by ${signer.kid}${tail}`, token, mutated: true };
  }
}

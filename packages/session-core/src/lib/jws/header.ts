import { isUtf8 } from 'node:buffer';
import { MAX_ACCESS_TOKEN_LENGTH } from '../token-syntax.js';
import { decodeBase64urlInto } from './base64url.js';

/**
 * The protected header this library emits, and the only one it accepts
 * (RFC 7515 §4.1): `alg`, `kid` and `typ`, nothing else. Refusing every other
 * member refuses in one rule everything that would make the header choose a
 * key or change how the token is read: `jwk`, `jku`, `x5u`, `x5c` (keys named
 * by the attacker), `crit` and `b64` (RFC 7797 unencoded payloads), `zip`.
 */
export interface JwsHeader {
  alg: string;
  kid: string;
  typ: string;
}

const MEMBERS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ']);

/** The header serialised as the signer writes it, base64url: also the spelling the verifier recognises without parsing. */
export function encodeHeader(header: JwsHeader): string {
  return Buffer.from(JSON.stringify({ alg: header.alg, kid: header.kid, typ: header.typ }), 'utf8').toString('base64url');
}

/*
 * Segments are decoded into one scratch buffer (calls are synchronous, and the
 * text is copied out), as large as the longest token read() looks at allows:
 * a longer segment does not fit and is refused like any other bad one.
 */
const scratch = Buffer.alloc(Math.ceil((MAX_ACCESS_TOKEN_LENGTH * 3) / 4));

/**
 * JSON text of a canonical base64url segment (see base64url.ts): strict UTF-8 (RFC 7515 §5.2 step 3:
 * the octets must be valid UTF-8), a leading byte-order mark dropped as
 * WHATWG's UTF-8 decode does. Undefined when the segment is not canonical
 * base64url or its bytes are not UTF-8.
 */
export function decodeJsonText(segment: string): string | undefined {
  const length = decodeBase64urlInto(segment, scratch);
  if (length < 0) return undefined;
  const bytes = scratch.subarray(0, length);
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A plain JSON object: not an array, not null (RFC 7515 §4, RFC 7519 §7.2 step 10). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object a canonical base64url segment holds; undefined when it holds anything else (or is not JSON). */
export function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  const text = decodeJsonText(segment);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
}

/** Parses a header segment; undefined unless it is exactly `{alg, kid, typ}` with string values. */
export function parseHeader(segment: string): JwsHeader | undefined {
  const header = parseJsonObject(segment);
  if (header === undefined) return undefined;
  for (const name of Object.keys(header)) if (!MEMBERS.has(name)) return undefined;
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || typeof kid !== 'string' || typeof typ !== 'string') return undefined;
  return { alg, kid, typ };
}

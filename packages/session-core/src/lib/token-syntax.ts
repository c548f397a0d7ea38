/** Longest access token `read()` will look at; anything longer is rejected before parsing. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A base64url segment is canonical when its length is possible and the bits
 * the last character carries past the encoded bytes are zero. Decoders ignore
 * those bits, so without this check one signature has several spellings and a
 * token that is not byte-identical to the issued one would verify.
 */
function canonicalEnd(token: string, end: number, length: number): boolean {
  const rest = length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const value = ALPHABET.indexOf(token[end - 1]!);
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Compact JWS syntax only: three canonical base64url segments, nothing else. */
export function isWellFormedJws(token: unknown): token is string {
  if (typeof token !== 'string' || token.length > MAX_ACCESS_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return false;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  return canonicalEnd(token, first, first) && canonicalEnd(token, second, second - first - 1) && canonicalEnd(token, token.length, token.length - second - 1);
}

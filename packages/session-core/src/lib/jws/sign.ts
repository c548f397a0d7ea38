import type { JwsPrimitive } from './algorithms.js';

/*
 * The payload's UTF-8 bytes are written into a buffer kept for it, not a new
 * Buffer per token (which also drew on, and every 8 KiB replaced, node's
 * shared pool). Signing is synchronous, so one serves all. A payload is at
 * most ~4 KiB of claims plus the registered ones; a longer one gets its own.
 */
const scratch = Buffer.alloc(16_384);

function base64urlOfText(text: string): string {
  if (text.length > scratch.length / 3) return Buffer.from(text, 'utf8').toString('base64url');
  return scratch.toString('base64url', 0, scratch.write(text, 0, 'utf8'));
}

/**
 * Compact JWS (RFC 7515 §7.1) over a payload already serialised to JSON text,
 * with a header already encoded (see `encodeHeader`): the header is the same
 * for every token of a key, so it is serialised once.
 */
export function signCompactJws(encodedHeader: string, json: string, primitive: JwsPrimitive): string {
  const input = `${encodedHeader}.${base64urlOfText(json)}`;
  return `${input}.${primitive.signBase64url(input)}`;
}

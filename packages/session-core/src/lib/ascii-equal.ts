import { timingSafeEqual } from 'node:crypto';

/*
 * Two scratch buffers, and a view of each length, made once: comparing a MAC
 * as text this way costs two short writes and one timingSafeEqual, against
 * a base64url decode into a new Buffer (and a digest Buffer) per call. Calls
 * are synchronous, so one pair serves all; the expected value is wiped after
 * each compare.
 */
export const MAX_ASCII_COMPARE = 128;
const presented = Buffer.alloc(MAX_ASCII_COMPARE);
const expected = Buffer.alloc(MAX_ASCII_COMPARE);
const views: [Buffer, Buffer][] = [];

/**
 * Constant-time equality of a presented string with an expected ASCII string
 * of at most 128 characters (a MAC written in base64url): the time depends on
 * the lengths only, which are public. `presentedText` may be anything the
 * caller was sent; unequal unless it is the same ASCII text.
 */
export function asciiEqual(presentedText: string, expectedText: string): boolean {
  const length = expectedText.length;
  if (presentedText.length !== length || length > MAX_ASCII_COMPARE) return false;
  const view = (views[length] ??= [presented.subarray(0, length), expected.subarray(0, length)]);
  // As UTF-8, so that a character past ASCII cannot pass for one (latin1 would keep only its low byte): it writes a byte above 0x7f, or fewer bytes than characters, and neither can match ASCII.
  if (view[0].write(presentedText, 0, length, 'utf8') !== length) return false;
  view[1].write(expectedText, 0, length, 'latin1');
  const equal = timingSafeEqual(view[0], view[1]);
  view[1].fill(0);
  return equal;
}

import type { SessionRecord } from '@jwt-session/session-core';

/*
 * A session is kept as one string, not an object: a record object with its
 * boxed timestamps and two nested objects costs several times the bytes of
 * its text. Fields are separated by U+001F, which never occurs raw in JSON
 * (JSON.stringify escapes control characters); the subject, which may hold
 * anything, comes last and takes the rest of the string.
 */
const SEP = '\u001f';
const FIELDS = 11;

/**
 * Non-negative safe integers in base 36 (8 characters for a ms timestamp);
 * anything else (fractions, negatives, -0, infinities, NaN) in decimal behind
 * a '~'. The marker must not be a base-36 digit: it once was 'd', which is
 * also the digit 13, so generation 13 read back as 0.
 */
function num(value: number): string {
  if (Object.is(value, -0)) return '~-0'; // String(-0) is '0'
  return Number.isSafeInteger(value) && value >= 0 ? value.toString(36) : `~${value}`;
}

function unnum(text: string): number {
  return text.charCodeAt(0) === 126 /* ~ */ ? Number(text.slice(1)) : Number.parseInt(text, 36);
}

/** The subject is the last field and may itself contain the separator. */
function subjectOf(f: string[]): string {
  return f.length === FIELDS + 1 ? f[11]! : f.slice(FIELDS).join(SEP);
}

/** The record plus `due`, the real time (ms) at which it may be dropped. */
export interface Stored {
  record: SessionRecord;
  due: number;
}

export function encode(record: SessionRecord, due: number): string {
  return [
    record.tokenHash,
    record.previousTokenHash ?? '',
    num(record.generation),
    num(record.createdAt),
    num(record.lastRefreshedAt),
    num(record.rotatedAt),
    num(record.expiresAt),
    record.idleExpiresAt === undefined ? '' : num(record.idleExpiresAt),
    num(due),
    JSON.stringify(record.claims),
    JSON.stringify(record.context),
    record.subject,
  ].join(SEP);
}

export function decode(sessionId: string, text: string): Stored {
  const f = text.split(SEP);
  return {
    record: {
      sessionId,
      tokenHash: f[0]!,
      previousTokenHash: f[1] === '' ? undefined : f[1],
      generation: unnum(f[2]!),
      createdAt: unnum(f[3]!),
      lastRefreshedAt: unnum(f[4]!),
      rotatedAt: unnum(f[5]!),
      expiresAt: unnum(f[6]!),
      idleExpiresAt: f[7] === '' ? undefined : unnum(f[7]!),
      claims: JSON.parse(f[9]!) as SessionRecord['claims'],
      context: JSON.parse(f[10]!) as SessionRecord['context'],
      subject: subjectOf(f),
    },
    due: unnum(f[8]!),
  };
}

/** Just the real-time deadline and the subject, without parsing the JSON parts. */
export function peek(text: string): { due: number; subject: string } {
  const f = text.split(SEP);
  return { due: unnum(f[8]!), subject: subjectOf(f) };
}

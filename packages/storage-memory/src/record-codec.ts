import type { SessionRecord } from '@jwt-session/session-core';

/*
 * A session is kept as one string, not an object: a record object with its
 * boxed timestamps and two nested objects costs several times the bytes of
 * its text. Fields are separated by U+001F, which never occurs raw in JSON
 * (JSON.stringify escapes control characters); the subject, which may hold
 * anything, comes last and takes the rest of the string.
 *
 * Most fields are written relative to another (the times after createdAt,
 * the due time after the deadline) and an empty field stands for the common
 * value (no rotation yet, `{}` claims): a new session's text is then about
 * 80 characters, which V8 keeps in 96 bytes instead of 128 (case 8a).
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

/**
 * `value` relative to `base`: empty when they are the same number, the
 * difference in base 36 when it is exact (safe integers, `value` above
 * `base`, a safe difference: unlike one of doubles, it adds back to `value`),
 * else the value itself behind a '!'.
 */
function rel(value: number, base: number): string {
  if (Object.is(value, base)) return '';
  const delta = value - base;
  if (Number.isSafeInteger(value) && Number.isSafeInteger(base) && Number.isSafeInteger(delta) && delta > 0 && !Object.is(value, -0)) return delta.toString(36);
  return `!${num(value)}`;
}

function unrel(text: string, base: number): number {
  if (text === '') return base;
  return text.charCodeAt(0) === 33 /* ! */ ? unnum(text.slice(1)) : base + Number.parseInt(text, 36);
}

function idleOf(text: string, createdAt: number): number | undefined {
  return text === '' ? undefined : text === '=' ? createdAt : unrel(text, createdAt);
}

function deadline(record: SessionRecord): number {
  return record.idleExpiresAt === undefined ? record.expiresAt : Math.min(record.expiresAt, record.idleExpiresAt);
}

/** Empty for `{}`, the commonest claims and context: parsing and writing them is skipped too. */
function json(value: object): string {
  for (const _ in value) return JSON.stringify(value);
  return '';
}

function unjson<T>(text: string): T {
  return (text === '' ? {} : JSON.parse(text)) as T;
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
  const { createdAt, lastRefreshedAt } = record;
  return [
    record.tokenHash,
    record.previousTokenHash ?? '',
    Object.is(record.generation, 0) ? '' : num(record.generation),
    num(createdAt),
    rel(lastRefreshedAt, createdAt),
    rel(record.rotatedAt, lastRefreshedAt),
    rel(record.expiresAt, createdAt),
    // Undefined is the empty field, so a defined one equal to createdAt is '='.
    record.idleExpiresAt === undefined ? '' : rel(record.idleExpiresAt, createdAt) || '=',
    rel(due, deadline(record)),
    json(record.claims),
    json(record.context),
    record.subject,
  ].join(SEP);
}

export function decode(sessionId: string, text: string): Stored {
  const f = text.split(SEP);
  const createdAt = unnum(f[3]!);
  const lastRefreshedAt = unrel(f[4]!, createdAt);
  const record: SessionRecord = {
    sessionId,
    tokenHash: f[0]!,
    previousTokenHash: f[1] === '' ? undefined : f[1],
    generation: f[2] === '' ? 0 : unnum(f[2]!),
    createdAt,
    lastRefreshedAt,
    rotatedAt: unrel(f[5]!, lastRefreshedAt),
    expiresAt: unrel(f[6]!, createdAt),
    idleExpiresAt: idleOf(f[7]!, createdAt),
    claims: unjson(f[9]!),
    context: unjson(f[10]!),
    subject: subjectOf(f),
  };
  return { record, due: unrel(f[8]!, deadline(record)) };
}

/** Just the real-time deadline and the subject, without parsing the JSON parts. */
export function peek(text: string): { due: number; subject: string } {
  const f = text.split(SEP);
  const createdAt = unnum(f[3]!);
  const expiresAt = unrel(f[6]!, createdAt);
  const idle = idleOf(f[7]!, createdAt);
  return { due: unrel(f[8]!, idle === undefined ? expiresAt : Math.min(expiresAt, idle)), subject: subjectOf(f) };
}

/*
 * PostgreSQL's text and jsonb cannot hold U+0000, and a subject, a claim or a
 * context name may be any well-formed Unicode. Such text is stored with
 * U+0000 written as U+0001 U+0002 and U+0001 as U+0001 U+0001: a bijection,
 * so equal strings stay equal (lookups, jsonb key merges) and everything
 * without these two characters (all real text) is stored as it is.
 *
 * JSON text gets the same mapping on its escapes: JSON.stringify writes
 * U+0000 and U+0001 as `\u0000` and `\u0001`, and PostgreSQL writes them
 * back as `\u0001` and `\u0002` sequences (lower-case hex, as both do). An
 * escaped backslash (`\\`) is matched first, so `\\u0000` (a backslash
 * followed by "u0000") is left alone.
 */
const RAW = /[\0\x01]/;
const RAW_ALL = /[\0\x01]/g;
const STORED_ALL = /\x01([\x01\x02])/g;
const JSON_RAW = /\\(\\|u000[01])/g;
const JSON_STORED = /\\(\\|u0001\\u000[12])/g;

/** A string as it is stored in a text column. */
export function toStored(text: string): string {
  return RAW.test(text) ? text.replace(RAW_ALL, (c) => (c === '\0' ? '\x01\x02' : '\x01\x01')) : text;
}

/** A string read from a text column, as the caller wrote it. */
export function fromStored(text: string): string {
  return text.includes('\x01') ? text.replace(STORED_ALL, (_, c: string) => (c === '\x01' ? '\x01' : '\0')) : text;
}

/** JSON text as it is sent to a jsonb column. */
export function toStoredJson(json: string): string {
  return json.includes('\\u000') ? json.replace(JSON_RAW, (m, e: string) => (e === 'u0000' ? '\\u0001\\u0002' : e === 'u0001' ? '\\u0001\\u0001' : m)) : json;
}

/** JSON text read from a jsonb column (`::text`), as the caller wrote it. */
export function fromStoredJson(json: string): string {
  return json.includes('\\u0001') ? json.replace(JSON_STORED, (m, e: string) => (e === '\\' ? m : e.endsWith('2') ? '\\u0000' : '\\u0001')) : json;
}

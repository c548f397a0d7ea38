/*
 * Replies whose shape depends on the ioredis major and the protocol the
 * caller's client speaks, turned into one shape here so nothing else looks at
 * either.
 *
 * ioredis 6 speaks RESP3 by default, where Redis answers XREAD with a map
 * (stream name → entries). ioredis 6 reshapes that map into the RESP2 form
 * only for its own `xread()` method: a command sent through `call()` gets the
 * map as a flat [name, entries] array, and with `replyMapping: 'resp3'` as an
 * object keyed by stream name. RESP2 (ioredis 5, or 6 with `protocol: 2`)
 * gives a list of [name, entries] pairs. Reading the pairs form out of the
 * flat one finds no entries at all, which is how revocations stopped reaching
 * other nodes on ioredis 6.
 *
 * Script replies need nothing: a Lua table is an array on both protocols, and
 * the scripts return only strings, integers and arrays of them.
 */

/** One stream entry: its id and its flat field/value list. */
export type StreamEntry = readonly [id: string, fields: readonly string[]];

function shapeError(what: string): TypeError {
  return new TypeError(`unexpected XREAD reply: ${what}`);
}

/**
 * The entries in an XREAD reply for one stream (none when a BLOCK read timed
 * out). The stream's name in the reply is not compared: it carries the
 * client's own `keyPrefix`, if it has one, and only one stream was asked for.
 */
export function streamEntries(reply: unknown): StreamEntry[] {
  let raw: unknown;
  if (reply === null) return [];
  if (Array.isArray(reply)) {
    // RESP2: [[name, entries]]; the RESP3 map as ioredis 6 hands it to call(): [name, entries].
    raw = Array.isArray(reply[0]) ? (reply[0] as unknown[])[1] : reply[1];
  } else if (typeof reply === 'object') {
    // The RESP3 map with replyMapping 'resp3': { [name]: entries }.
    raw = Object.values(reply)[0];
  }
  if (!Array.isArray(raw)) throw shapeError(`no entry list in ${Array.isArray(reply) ? 'an array' : typeof reply}`);
  return raw.map((entry: unknown) => {
    const [id, fields] = Array.isArray(entry) ? (entry as unknown[]) : [];
    if (typeof id !== 'string' || !Array.isArray(fields)) throw shapeError('an entry is not [id, fields]');
    return [id, fields.map(String)] as const;
  });
}

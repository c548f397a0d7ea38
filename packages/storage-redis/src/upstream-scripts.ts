import { INSERT, LIST, PRELUDE } from './scripts.js';

/*
 * Upstream links (issue 26 §1), kept apart from the session scripts they
 * extend. Two places hold them:
 *
 * - beside a subject's key, on its slot, `{tag}:u:<rest>` (KEYS[2]): a hash
 *   from session id to the session's upstream identity (MessagePack
 *   { issuer, subject, sid or '' }). It is written in the same script as the
 *   session, so a session never exists without its link; it lives as long as
 *   the latest absolute expiry of the linked sessions it holds, and each
 *   linked insert drops the fields of sessions no longer held.
 * - one sorted set per provider session (issuer, sid) and per provider user
 *   (issuer, sub), `upstream:{<hash>}`, on a slot of its own: the ids of the
 *   sessions linked to it, scored by their absolute expiry. It is written
 *   BEFORE the session (another slot: no script can do both), so an entry
 *   whose insert then failed names a session that does not exist; a lookup
 *   checks each id on its subject's slot (RESOLVE), where the link written
 *   with the session is the truth. A stale entry is therefore harmless, and a
 *   session is never without its entry. Entries leave when their expiry
 *   passes (pruned on each write; the set expires with its last one) and the
 *   set never holds more than MAX_UPSTREAM_INDEX ids.
 *
 * The session scripts are reused, not copied: a linked insert runs INSERT's
 * body as a function (its ARGV renamed), then links; a linked list runs
 * LIST's. Whatever INSERT and LIST do, these do too.
 */

/** Most session ids one index set holds: past it, those expiring first leave (a user signing in thousands of times within a refresh-token lifetime). */
export const MAX_UPSTREAM_INDEX = 10_000;

const bodyOf = (script: string): string => script.slice(PRELUDE.length);

/**
 * KEYS: subject key, upstream key. ARGV: issuer, subject, sid ('' = none),
 * then INSERT's ARGV. Returns what INSERT returns; links the session when
 * the insert stored it (a settled or repeated insert stores nothing).
 */
export const INSERT_LINKED = `${PRELUDE}
local INSERT_ARGV = {}
for n = 4, #ARGV do INSERT_ARGV[n - 3] = ARGV[n] end
local function run_insert()
${bodyOf(INSERT).replaceAll('ARGV', 'INSERT_ARGV')}
end
local evicted = run_insert()
local key, ukey = KEYS[1], KEYS[2]
local now, id = tonumber(INSERT_ARGV[1]), INSERT_ARGV[4]
local held = {}
for _, rec in ipairs(live(load(key), now)) do held[rec[ID]] = rec end
if held[id] then redis.call('HSET', ukey, id, cmsgpack.pack({ ARGV[1], ARGV[2], ARGV[3] })) end
local latest = 0
for _, field in ipairs(redis.call('HKEYS', ukey)) do
  if held[field] then
    if held[field][EXPIRES] > latest then latest = held[field][EXPIRES] end
  else
    redis.call('HDEL', ukey, field)
  end
end
if latest > now then redis.call('PEXPIRE', ukey, ttl(latest, now)) else redis.call('DEL', ukey) end
return evicted
`;

/**
 * KEYS: subject key, upstream key. ARGV: LIST's. Returns { LIST's reply,
 * { issuer, subject, sid, ... } for each session of it in order, '' for none }.
 */
export const LIST_LINKED = `${PRELUDE}
local function run_list()
${bodyOf(LIST)}
end
local out = run_list()
local links = {}
if #out > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  local ids = {}
  for n = 1, #out, 2 do ids[#ids + 1] = out[n] end
  for n, raw in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
    if raw then
      local u = cmsgpack.unpack(raw)
      links[#links + 1] = u[1]
      links[#links + 1] = u[2]
      links[#links + 1] = u[3]
    else
      links[#links + 1] = ''
      links[#links + 1] = ''
      links[#links + 1] = ''
    end
  end
end
return { out, links }
`;

/**
 * KEYS: one index set. ARGV: now, the session's absolute expiry, its id, the
 * cap. Adds the id, drops the ids whose expiry has passed and, past the cap,
 * those expiring first; the set lives until its latest expiry.
 */
export const INDEX_ADD = `
local key = KEYS[1]
local now, expires, id, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.17g', now))
redis.call('ZADD', key, string.format('%.17g', expires), id)
local extra = redis.call('ZCARD', key) - cap
if extra > 0 then redis.call('ZREMRANGEBYRANK', key, 0, extra - 1) end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', key, string.format('%d', math.max(1, math.ceil(tonumber(last[2]) - now))))
return 1
`;

/**
 * KEYS: subject key, upstream key. ARGV: now, issuer, 'sid' or 'sub', value,
 * then session ids (all of this subject key). Returns { id, subject, ... } of
 * those live and linked to (issuer, value): the truth an index entry is
 * checked against.
 */
export const RESOLVE = `${PRELUDE}
local key, ukey = KEYS[1], KEYS[2]
local now, issuer, kind, value = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local held = {}
for _, rec in ipairs(live(load(key), now)) do held[rec[ID]] = rec end
local out = {}
for n = 5, #ARGV do
  local id = ARGV[n]
  local raw = held[id] and redis.call('HGET', ukey, id)
  if raw then
    local u = cmsgpack.unpack(raw)
    if u[1] == issuer and ((kind == 'sid' and u[3] == value) or (kind == 'sub' and u[2] == value)) then
      out[#out + 1] = id
      out[#out + 1] = held[id][SUB]
    end
  end
end
return out
`;

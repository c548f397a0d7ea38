/*
 * One Lua script per store operation, so each one is a single round trip and
 * atomic: Redis runs a script to completion before serving anyone else, which
 * is what makes "check the hash, then swap it" and "count, evict, insert"
 * safe against concurrent callers on other nodes.
 *
 * Layout (see keys.ts): KEYS are always keys of one subject and share its
 * `{tag}`, so every script touches one Cluster slot. Session keys other than
 * the declared ones (eviction, pruning, deleteAll) are built inside the script
 * from the declared key's prefix; they carry the same tag and live in the same
 * slot. Deriving them from KEYS rather than passing a prefix in ARGV keeps an
 * ioredis `keyPrefix` on the caller's client working.
 *
 * A session is one string key holding a MessagePack array of strings (see
 * RECORD below), written with SET … PX. Why not a hash: a user agent alone
 * passes hash-max-listpack-value (64 bytes), which turns the hash into a real
 * hash table at about twice the memory. Why MessagePack of strings and not
 * JSON: cjson would round numbers to 14 digits and turn [] into {}, while
 * cmsgpack hands strings back byte for byte; values stay the JSON text the
 * client wrote, and context entries are separate (name, JSON) pairs so a
 * rotation merges them key by key without decoding any JSON in Lua.
 *
 * Time: every decision uses the caller's `now` (ARGV), never Redis TIME, so all
 * nodes decide on the manager's clock and tests can freeze it. One exception:
 * DELETE_ALL reports Redis TIME as the moment of a subject-wide revocation,
 * so "issued before" is judged on one clock rather than the caller's. TTLs are set
 * relative to that `now` for the same reason: a key lives exactly as long as
 * the session it holds, as the manager sees it; Redis only garbage-collects.
 *
 * Comparisons of hashes use Lua string equality, which is not constant-time;
 * that is harmless here: they are SHA-256 digests of 256-bit random secrets,
 * and learning a prefix of a digest gets an attacker no closer to a secret.
 */

/** Positions in a stored record (1-based in Lua, 0-based in JS); context (name, JSON) pairs follow from CONTEXT. '' = absent. */
export const RECORD = {
  SUB: 1,
  HASH: 2,
  PREV: 3,
  GEN: 4,
  CREATED: 5,
  REFRESHED: 6,
  ROTATED: 7,
  EXPIRES: 8,
  IDLE: 9,
  CLAIMS: 10,
  CONTEXT: 11,
} as const;

const PRELUDE = `
local SUB, HASH, PREV, GEN, CREATED, REFRESHED, ROTATED, EXPIRES, IDLE, CLAIMS, CONTEXT = ${Object.values(RECORD).join(', ')}

local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

-- The "<prefix>{tag}:" part of a key, given the part after it.
local function base_of(key, tail)
  return string.sub(key, 1, #key - #tail)
end

local function num(s)
  return string.format('%.17g', s)
end

local function ttl(deadline, now)
  return string.format('%d', math.max(1, math.ceil(deadline - now)))
end

local function deadline_of(rec)
  local e, i = tonumber(rec[EXPIRES]), tonumber(rec[IDLE])
  if i and i < e then return i end
  return e
end

local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  return cmsgpack.unpack(raw)
end

local function save(key, rec, now)
  redis.call('SET', key, cmsgpack.pack(rec), 'PX', ttl(deadline_of(rec), now))
end

-- Drops index entries (and their session keys) whose deadline has passed.
local function prune(idx, base, now)
  local gone = redis.call('ZRANGEBYSCORE', idx, '-inf', num(now))
  for _, id in ipairs(gone) do redis.call('DEL', base .. 's:' .. id) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', idx, '-inf', num(now)) end
end

-- The index lives exactly as long as its last session; an empty one is gone already.
local function touch(idx, now)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', idx, ttl(tonumber(top[2]), now)) end
end

local function forget(skey, idx, id, now)
  redis.call('DEL', skey)
  redis.call('ZREM', idx, id)
  touch(idx, now)
end
`;

/**
 * KEYS: index, session. ARGV: now, max ('' = no cap), sessionId, receipt ttl, then the record.
 * Returns the evicted ids, oldest first. An insert that evicts leaves a
 * receipt `{tag}:x:<id>` (the ids, comma-separated) for SETTLE; an insert
 * that finds a receipt (or SETTLE's mark) already there does nothing: it was
 * settled before it ran, or it is a repeat.
 */
export const INSERT = `${PRELUDE}
local idx, skey = KEYS[1], KEYS[2]
local now, max, id, receipt_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local base = base_of(skey, 's:' .. id)
local xkey = base .. 'x:' .. id
if redis.call('EXISTS', xkey) == 1 then return {} end
prune(idx, base, now)
local evicted = {}
if max then
  local rows = {}
  for _, sid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local rec = load(base .. 's:' .. sid)
    if rec then
      rows[#rows + 1] = { sid, tonumber(rec[CREATED]) }
    else
      -- Redis expired the key on its own clock: the entry is stale.
      redis.call('ZREM', idx, sid)
    end
  end
  local excess = #rows - max + 1
  if excess > 0 then
    table.sort(rows, function(a, b)
      if a[2] == b[2] then return a[1] < b[1] end
      return a[2] < b[2]
    end)
    for n = 1, excess do
      local sid = rows[n][1]
      redis.call('DEL', base .. 's:' .. sid)
      redis.call('ZREM', idx, sid)
      evicted[#evicted + 1] = sid
    end
  end
end
local rec = {}
for n = 5, #ARGV do rec[#rec + 1] = ARGV[n] end
save(skey, rec, now)
redis.call('ZADD', idx, num(deadline_of(rec)), id)
touch(idx, now)
if #evicted > 0 then redis.call('SET', xkey, table.concat(evicted, ','), 'PX', receipt_ttl) end
return evicted
`;

/**
 * KEYS: session, index. ARGV: now, sessionId, receipt ttl.
 * For an INSERT whose reply never came: if it ran, removes the session it
 * created (its creator never got the tokens) and returns the ids it evicted
 * (its receipt, kept, so asking twice gives the same answer); if it did not
 * run, leaves a mark that turns it into a no-op should it run later.
 */
export const SETTLE = `${PRELUDE}
local skey, idx = KEYS[1], KEYS[2]
local now, id, receipt_ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local xkey = base_of(skey, 's:' .. id) .. 'x:' .. id
local receipt = redis.call('GET', xkey)
if redis.call('EXISTS', skey) == 1 then
  forget(skey, idx, id, now)
elseif not receipt then
  redis.call('SET', xkey, '', 'PX', receipt_ttl)
  return {}
end
local out = {}
if receipt then
  for sid in string.gmatch(receipt, '[^,]+') do out[#out + 1] = sid end
end
return out
`;

/**
 * KEYS: session. ARGV: now, sessionId, presentedHash, successorHash, reuseInterval,
 * idleTtl ('' = keep), claims JSON ('' = keep), then context name/JSON pairs ('' JSON = remove).
 * Returns {status, ...}: rotated/grace + record, reused + subject, mismatch + subject,
 * expired, not_found. A mismatch never returns the current hash: the manager needs only the subject.
 */
export const ROTATE = `${PRELUDE}
local skey = KEYS[1]
local now, id, presented, successor = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local reuse, idle_ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local rec = load(skey)
if not rec then return { 'not_found' } end
local base = base_of(skey, 's:' .. id)
local idx = base .. 'u:' .. hex(rec[SUB])
prune(idx, base, now)
if now >= deadline_of(rec) then
  forget(skey, idx, id, now)
  return { 'expired' }
end
if presented == rec[HASH] then
  rec[PREV] = rec[HASH]
  rec[HASH] = successor
  rec[GEN] = tostring(tonumber(rec[GEN]) + 1)
  rec[REFRESHED] = ARGV[1]
  rec[ROTATED] = ARGV[1]
  if idle_ttl then rec[IDLE] = num(math.min(now + idle_ttl, tonumber(rec[EXPIRES]))) end
  if ARGV[7] ~= '' then rec[CLAIMS] = ARGV[7] end
  local pos = {}
  for n = CONTEXT, #rec, 2 do pos[rec[n]] = n end
  for n = 8, #ARGV, 2 do
    local at = pos[ARGV[n]]
    if at then
      rec[at + 1] = ARGV[n + 1]
    elseif ARGV[n + 1] ~= '' then
      rec[#rec + 1] = ARGV[n]
      rec[#rec + 1] = ARGV[n + 1]
      pos[ARGV[n]] = #rec - 1
    end
  end
  -- Rebuilt without the removed entries: a hole would end the array for cmsgpack.
  local out = {}
  for n = 1, CONTEXT - 1 do out[n] = rec[n] end
  for n = CONTEXT, #rec, 2 do
    if rec[n + 1] ~= '' then
      out[#out + 1] = rec[n]
      out[#out + 1] = rec[n + 1]
    end
  end
  save(skey, out, now)
  redis.call('ZADD', idx, num(deadline_of(out)), id)
  touch(idx, now)
  return { 'rotated', out }
end
if rec[PREV] ~= '' and presented == rec[PREV] then
  local in_grace = reuse > 0 and now - tonumber(rec[ROTATED]) <= reuse
  if in_grace and successor == rec[HASH] then return { 'grace', rec } end
  if not in_grace then
    forget(skey, idx, id, now)
    return { 'reused', rec[SUB] }
  end
end
return { 'mismatch', rec[SUB] }
`;

/** KEYS: index. ARGV: now, hex(subject). Returns {id, record, id, record, ...} of the live sessions. */
export const LIST = `${PRELUDE}
local idx = KEYS[1]
local now = tonumber(ARGV[1])
local base = base_of(idx, 'u:' .. ARGV[2])
prune(idx, base, now)
local out = {}
for _, id in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local rec = load(base .. 's:' .. id)
  if rec then
    out[#out + 1] = id
    out[#out + 1] = rec
  else
    redis.call('ZREM', idx, id)
  end
end
touch(idx, now)
return out
`;

/**
 * KEYS: session, index. ARGV: now, sessionId, subject.
 * Returns 1 when a live session of this subject was deleted, else 0.
 */
export const DELETE = `${PRELUDE}
local skey, idx = KEYS[1], KEYS[2]
local now, id, subject = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local rec = load(skey)
if not rec or rec[SUB] ~= subject then return 0 end
prune(idx, base_of(skey, 's:' .. id), now)
forget(skey, idx, id, now)
if now < deadline_of(rec) then return 1 end
return 0
`;

/**
 * KEYS: index. ARGV: now, hex(subject). Returns Redis' own time (ms, as a
 * string) followed by the ids of the live sessions deleted: one clock for the
 * subject-wide "issued before", whichever node asks.
 */
export const DELETE_ALL = `${PRELUDE}
local idx = KEYS[1]
local now = tonumber(ARGV[1])
local t = redis.call('TIME')
local live = { string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) }
local base = base_of(idx, 'u:' .. ARGV[2])
local entries = redis.call('ZRANGE', idx, 0, -1, 'WITHSCORES')
for n = 1, #entries, 2 do
  local id = entries[n]
  -- An insert's receipt goes with its session: the subject-wide rule now covers what it evicted.
  redis.call('DEL', base .. 'x:' .. id)
  local deleted = redis.call('DEL', base .. 's:' .. id)
  if deleted == 1 and tonumber(entries[n + 1]) > now then live[#live + 1] = id end
end
redis.call('DEL', idx)
return live
`;

/**
 * KEYS: stream. ARGV: retention ms, max length, origin, event JSON. Returns the entry id.
 * MINID trimming is exact (an approximate one keeps whole 100-entry nodes, so a
 * quiet stream would never shrink); MAXLEN is only a safety cap, so approximate.
 * Trimming is by age on Redis' own clock, because stream ids are Redis time: an
 * entry is dropped `retention` ms after it was added, not earlier.
 */
export const PUBLISH = `
local key = KEYS[1]
local retention = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = redis.call('XADD', key, 'MINID', string.format('%d', math.max(0, now - retention)), '*', 'o', ARGV[3], 'e', ARGV[4])
redis.call('XTRIM', key, 'MAXLEN', '~', ARGV[2])
if redis.call('PTTL', key) < retention then redis.call('PEXPIRE', key, string.format('%d', retention)) end
return id
`;

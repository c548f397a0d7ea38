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
 * Session hash fields: sub (subject), h (current secret hash), p (previous
 * hash), g (generation), c (createdAt), l (lastRefreshedAt), r (rotatedAt),
 * e (expiresAt), i (idleExpiresAt), cl (claims JSON), and one `x:<name>`
 * field per context entry (JSON) so a rotation merges context key by key
 * without decoding JSON in Lua (cjson would round numbers and turn [] into {}).
 *
 * Time: every decision uses the caller's `now` (ARGV), never Redis TIME, so all
 * nodes decide on the manager's clock and tests can freeze it. TTLs are set
 * relative to that `now` for the same reason: a key lives exactly as long as
 * the session it holds, as the manager sees it; Redis only garbage-collects.
 *
 * Comparisons of hashes use Lua string equality, which is not constant-time;
 * that is harmless here: they are SHA-256 digests of 256-bit random secrets,
 * and learning a prefix of a digest gets an attacker no closer to a secret.
 */

const PRELUDE = `
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

local function deadline_of(e, i)
  e = tonumber(e)
  i = tonumber(i)
  if i and i < e then return i end
  return e
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
`;

/**
 * KEYS: index, session. ARGV: now, max ('' = no cap), sessionId, deadline, then field/value pairs.
 * Returns the evicted ids, oldest first.
 */
export const INSERT = `${PRELUDE}
local idx, skey = KEYS[1], KEYS[2]
local now, max, id, dl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local base = base_of(skey, 's:' .. id)
prune(idx, base, now)
local evicted = {}
if max then
  local rows = {}
  for _, sid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local c = redis.call('HGET', base .. 's:' .. sid, 'c')
    if c then
      rows[#rows + 1] = { sid, tonumber(c) }
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
local fields = {}
for n = 5, #ARGV do fields[#fields + 1] = ARGV[n] end
redis.call('DEL', skey)
redis.call('HSET', skey, unpack(fields))
redis.call('PEXPIRE', skey, ttl(dl, now))
redis.call('ZADD', idx, num(dl), id)
touch(idx, now)
return evicted
`;

/**
 * KEYS: session. ARGV: now, sessionId, presentedHash, successorHash, reuseInterval,
 * idleTtl ('' = keep), claims JSON ('' = keep), then context name/JSON pairs ('' JSON = remove).
 * Returns {status, ...}: rotated/grace + HGETALL, reused + subject, mismatch + subject, generation, hash,
 * expired, not_found.
 */
export const ROTATE = `${PRELUDE}
local skey = KEYS[1]
local now, id, presented, successor = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local reuse, idle_ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local s = redis.call('HMGET', skey, 'sub', 'h', 'p', 'g', 'r', 'e', 'i')
local sub, cur, prev, gen, rotated_at, e, i = s[1], s[2], s[3], s[4], s[5], s[6], s[7]
if not sub then return { 'not_found' } end
local base = base_of(skey, 's:' .. id)
local idx = base .. 'u:' .. hex(sub)
prune(idx, base, now)
if now >= deadline_of(e, i) then
  redis.call('DEL', skey)
  redis.call('ZREM', idx, id)
  touch(idx, now)
  return { 'expired' }
end
if presented == cur then
  local fields = { 'p', cur, 'h', successor, 'g', tostring(tonumber(gen) + 1), 'l', ARGV[1], 'r', ARGV[1] }
  if idle_ttl then
    i = num(math.min(now + idle_ttl, tonumber(e)))
    fields[#fields + 1] = 'i'
    fields[#fields + 1] = i
  end
  if ARGV[7] ~= '' then
    fields[#fields + 1] = 'cl'
    fields[#fields + 1] = ARGV[7]
  end
  for n = 8, #ARGV, 2 do
    if ARGV[n + 1] == '' then
      redis.call('HDEL', skey, 'x:' .. ARGV[n])
    else
      fields[#fields + 1] = 'x:' .. ARGV[n]
      fields[#fields + 1] = ARGV[n + 1]
    end
  end
  redis.call('HSET', skey, unpack(fields))
  local dl = deadline_of(e, i)
  redis.call('PEXPIRE', skey, ttl(dl, now))
  redis.call('ZADD', idx, num(dl), id)
  touch(idx, now)
  return { 'rotated', redis.call('HGETALL', skey) }
end
if prev and presented == prev then
  local in_grace = reuse > 0 and now - tonumber(rotated_at) <= reuse
  if in_grace and successor == cur then return { 'grace', redis.call('HGETALL', skey) } end
  if not in_grace then
    redis.call('DEL', skey)
    redis.call('ZREM', idx, id)
    touch(idx, now)
    return { 'reused', sub }
  end
end
return { 'mismatch', sub, gen, cur }
`;

/** KEYS: session. ARGV: now, sessionId. Returns HGETALL of a live session, or an empty array. */
export const GET = `${PRELUDE}
local skey = KEYS[1]
local now, id = tonumber(ARGV[1]), ARGV[2]
local s = redis.call('HMGET', skey, 'sub', 'e', 'i')
if not s[1] then return {} end
if now >= deadline_of(s[2], s[3]) then
  local idx = base_of(skey, 's:' .. id) .. 'u:' .. hex(s[1])
  redis.call('DEL', skey)
  redis.call('ZREM', idx, id)
  touch(idx, now)
  return {}
end
return redis.call('HGETALL', skey)
`;

/** KEYS: index. ARGV: now, hex(subject). Returns {id, HGETALL, id, HGETALL, ...} of the live sessions. */
export const LIST = `${PRELUDE}
local idx = KEYS[1]
local now = tonumber(ARGV[1])
local base = base_of(idx, 'u:' .. ARGV[2])
prune(idx, base, now)
local out = {}
for _, id in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local fields = redis.call('HGETALL', base .. 's:' .. id)
  if #fields == 0 then
    redis.call('ZREM', idx, id)
  else
    out[#out + 1] = id
    out[#out + 1] = fields
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
local s = redis.call('HMGET', skey, 'sub', 'e', 'i')
if s[1] ~= subject then return 0 end
redis.call('DEL', skey)
redis.call('ZREM', idx, id)
prune(idx, base_of(skey, 's:' .. id), now)
touch(idx, now)
if now < deadline_of(s[2], s[3]) then return 1 end
return 0
`;

/** KEYS: index. ARGV: now, hex(subject). Returns the ids of the live sessions deleted. */
export const DELETE_ALL = `${PRELUDE}
local idx = KEYS[1]
local now = tonumber(ARGV[1])
local base = base_of(idx, 'u:' .. ARGV[2])
local entries = redis.call('ZRANGE', idx, 0, -1, 'WITHSCORES')
local live = {}
for n = 1, #entries, 2 do
  local id = entries[n]
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

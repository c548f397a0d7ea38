import { SUBJECT_KEY_TAIL_LENGTH } from './keys.js';

/*
 * One Lua script per store operation, so each one is a single round trip and
 * atomic: Redis runs a script to completion before serving anyone else, which
 * is what makes "check the hash, then swap it" and "count, evict, insert"
 * safe against concurrent callers on other nodes.
 *
 * Layout (see keys.ts): all of a subject's sessions live in one string key,
 * named by the subject's digest, so every script reads and writes KEYS[1] and
 * nothing else but an insert's receipt, `{tag}:x:<id>`, built inside the
 * script from KEYS[1] (same tag, same slot; deriving it from KEYS rather than
 * passing a prefix in ARGV keeps an ioredis `keyPrefix` working).
 *
 * The value is MessagePack: { FORMAT, bound, { record, record, ... } }, a record an array
 * { id, subject, hash, previous hash, generation, created, refreshed, rotated,
 * expires, idle expiry ('' = none), claims JSON, then context (name, JSON)
 * pairs }. Times and the generation are numbers (cmsgpack writes an integral
 * one as an integer: 9 bytes for a time in ms instead of 14 as text); claims
 * and context stay the JSON text the client wrote, which cmsgpack hands back
 * byte for byte (cjson would round numbers to 14 digits and turn [] into {}),
 * and context entries are separate pairs so a rotation merges them key by key
 * without decoding JSON in Lua. Why one string and not a hash per subject: a
 * record passes hash-max-listpack-value (64 bytes), which turns a hash into a
 * real hash table at about twice the memory.
 *
 * The key expires with its last session (PX = latest deadline), and every
 * script drops the records past their deadline it finds, so a subject's key
 * never holds a dead session for long after its owner comes back, and is gone
 * when none is left.
 *
 * `bound` is a lower bound of the records' deadlines, in whole seconds,
 * always written as a 5-byte uint32 so that it sits at a fixed place. While
 * `now` is before it, no record is dead, and an INSERT without a per-subject
 * cap appends its record to the bytes as they are, without decoding the
 * others. It still copies the key's bytes, so a login grows with the
 * subject's sessions, but by copying rather than decoding them (measured:
 * 18.5 against 29.9 µs of Redis CPU per create at ~15 sessions per subject).
 * Every other operation decodes the subject's records, O(the subject's
 * sessions): set
 * maxSessionsPerSubject for subjects that sign in without end.
 *
 * Time: every decision uses the caller's `now` (ARGV), never Redis TIME, so all
 * nodes decide on the manager's clock and tests can freeze it. One exception:
 * DELETE_ALL reports Redis TIME as the moment of a subject-wide revocation,
 * so "issued before" is judged on one clock rather than the caller's. TTLs are set
 * relative to that `now` for the same reason: a key lives exactly as long as
 * the sessions it holds, as the manager sees it; Redis only garbage-collects.
 *
 * Comparisons of hashes use Lua string equality, which is not constant-time;
 * that is harmless here: they are SHA-256 digests of 256-bit random secrets,
 * and learning a prefix of a digest gets an attacker no closer to a secret.
 */

/**
 * The first element of every stored value: a value of another format is
 * refused (script error), never overwritten. Format 1 ({ 1, records }, 0.1
 * before the bound) is still read, and written back as this one.
 */
export const FORMAT = 2;

/**
 * Positions in what scripts return for a session (0-based in JS): the record
 * without its id and hashes, whole numbers as integers and others as text;
 * context (name, JSON) pairs follow from CONTEXT.
 */
export const REPLY = {
  SUB: 0,
  GEN: 1,
  CREATED: 2,
  REFRESHED: 3,
  ROTATED: 4,
  EXPIRES: 5,
  IDLE: 6,
  CLAIMS: 7,
  CONTEXT: 8,
} as const;

/** The helpers every script starts with (exported for bench/profile/lua-cost.ts, which measures what defining them costs). */
export const PRELUDE = `
local ID, SUB, HASH, PREV, GEN, CREATED, REFRESHED, ROTATED, EXPIRES, IDLE, CLAIMS, CONTEXT = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
local FORMAT = ${FORMAT}

local function num(s)
  return string.format('%.17g', s)
end

local function ttl(deadline, now)
  return string.format('%d', math.max(1, math.ceil(deadline - now)))
end

local function deadline_of(rec)
  local i = rec[IDLE]
  if i ~= '' and i < rec[EXPIRES] then return i end
  return rec[EXPIRES]
end

-- Every record under the key, live or not.
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return {} end
  local value = cmsgpack.unpack(raw)
  if type(value) == 'table' then
    if value[1] == FORMAT and type(value[3]) == 'table' then return value[3] end
    if value[1] == 1 and value[3] == nil and type(value[2]) == 'table' then return value[2] end
  end
  error('jwt-session: unknown value format under ' .. key)
end

-- The bytes before the records' array: fixarray(3), FORMAT, then the bound as a uint32 (0xce) of whole seconds at or before earliest (ms).
local function head(earliest)
  local bound = math.floor(earliest / 1000)
  if bound ~= bound or bound < 0 then bound = 0 elseif bound > 4294967295 then bound = 4294967295 end
  return struct.pack('>BBBI4', 0x93, FORMAT, 0xce, bound)
end
local HEAD_LENGTH = 7

-- The records still live at now (the same table when all are).
local function live(all, now)
  for n, rec in ipairs(all) do
    if now >= deadline_of(rec) then
      local out = {}
      for m = 1, n - 1 do out[m] = all[m] end
      for m = n + 1, #all do
        if now < deadline_of(all[m]) then out[#out + 1] = all[m] end
      end
      return out
    end
  end
  return all
end

local function find(list, id)
  for n, rec in ipairs(list) do
    if rec[ID] == id then return n, rec end
  end
  return nil, nil
end

-- Writes the records back; the key lives exactly as long as the last of them.
local function save(key, list, now)
  if #list == 0 then
    redis.call('DEL', key)
    return
  end
  local latest, earliest = 0, math.huge
  for _, rec in ipairs(list) do
    local d = deadline_of(rec)
    if d > latest then latest = d end
    if d < earliest then earliest = d end
  end
  redis.call('SET', key, head(earliest) .. cmsgpack.pack(list), 'PX', ttl(latest, now))
end

-- The "<prefix>{tag}:" part of a subject key ("<prefix>{tag}:s:<rest>").
local function base_of(key)
  return string.sub(key, 1, #key - ${SUBJECT_KEY_TAIL_LENGTH})
end

-- A number for the reply: Redis turns a Lua number into an integer, exact for whole ones; others travel as text.
local function out_num(n)
  if n == math.floor(n) then return n end
  return num(n)
end

-- A session as scripts return it (REPLY in JS): no id, no hashes.
local function reply_of(rec)
  local out = { rec[SUB], rec[GEN], out_num(rec[CREATED]), out_num(rec[REFRESHED]), out_num(rec[ROTATED]), out_num(rec[EXPIRES]) }
  out[7] = rec[IDLE] == '' and '' or out_num(rec[IDLE])
  out[8] = rec[CLAIMS]
  for n = CONTEXT, #rec do out[#out + 1] = rec[n] end
  return out
end
`;

/**
 * KEYS: subject key. ARGV: now, max ('' = no cap), receipt ttl, then the
 * record: id, subject, hash, created, expires, idle expiry ('' = none),
 * claims JSON, context (name, JSON) pairs.
 * Returns the evicted ids, oldest first. An insert that evicts leaves a
 * receipt `{tag}:x:<id>` (the ids, comma-separated) for SETTLE; an insert
 * that finds a receipt (or SETTLE's mark) already there does nothing: it was
 * settled before it ran, or it is a repeat.
 */
export const INSERT = `${PRELUDE}
-- Appends rec to the stored bytes when no record can be dead at now and none holds rec's id (a repeat): true when done.
local function append(key, rec, now)
  local raw = redis.call('GET', key)
  if not raw or string.byte(raw, 1) ~= 0x93 or string.byte(raw, 2) ~= FORMAT or string.byte(raw, 3) ~= 0xce then return false end
  local bound = struct.unpack('>I4', raw, 4)
  -- The id anywhere in the bytes (even inside another record's text) sends the insert the long way, which drops a repeat.
  if bound == 0 or now >= bound * 1000 or string.find(raw, rec[ID], 1, true) then return false end
  local b, count, at = string.byte(raw, HEAD_LENGTH + 1), nil, nil
  if b >= 0x90 and b <= 0x9f then count, at = b - 0x90, HEAD_LENGTH + 2
  elseif b == 0xdc then count, at = struct.unpack('>I2', raw, HEAD_LENGTH + 2), HEAD_LENGTH + 4
  elseif b == 0xdd then count, at = struct.unpack('>I4', raw, HEAD_LENGTH + 2), HEAD_LENGTH + 6
  else return false end
  count = count + 1
  local array
  if count < 16 then array = string.char(0x90 + count)
  elseif count < 65536 then array = struct.pack('>BI2', 0xdc, count)
  else array = struct.pack('>BI4', 0xdd, count) end
  local d = deadline_of(rec)
  -- The key already lives until the latest of the others' deadlines.
  local left = redis.call('PTTL', key)
  redis.call('SET', key, head(math.min(bound * 1000, d)) .. array .. string.sub(raw, at) .. cmsgpack.pack(rec), 'PX', ttl(math.max(now + left, d), now))
  return true
end

local key = KEYS[1]
local now, max, receipt_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local id, subject = ARGV[4], ARGV[5]
local xkey = base_of(key) .. 'x:' .. id
if redis.call('EXISTS', xkey) == 1 then return {} end
local created = tonumber(ARGV[7])
local rec = { id, subject, ARGV[6], '', 0, created, created, created, tonumber(ARGV[8]), tonumber(ARGV[9]) or '', ARGV[10] }
for n = 11, #ARGV do rec[#rec + 1] = ARGV[n] end
-- Without a cap nobody is evicted: the record joins the others as they are, when none of them is dead.
if not max and append(key, rec, now) then return {} end
local list = live(load(key), now)
local at = find(list, id)
if at then table.remove(list, at) end
local evicted = {}
if max then
  local mine = {}
  for _, rec in ipairs(list) do
    if rec[SUB] == subject then mine[#mine + 1] = rec end
  end
  local excess = #mine - max + 1
  if excess > 0 then
    table.sort(mine, function(a, b)
      if a[CREATED] == b[CREATED] then return a[ID] < b[ID] end
      return a[CREATED] < b[CREATED]
    end)
    local gone = {}
    for n = 1, excess do
      gone[mine[n][ID]] = true
      evicted[n] = mine[n][ID]
    end
    local kept = {}
    for _, rec in ipairs(list) do
      if not gone[rec[ID]] then kept[#kept + 1] = rec end
    end
    list = kept
  end
end
list[#list + 1] = rec
save(key, list, now)
if #evicted > 0 then redis.call('SET', xkey, table.concat(evicted, ','), 'PX', receipt_ttl) end
return evicted
`;

/**
 * KEYS: subject key. ARGV: now, sessionId, receipt ttl.
 * For an INSERT whose reply never came: if it ran, removes the session it
 * created (its creator never got the tokens) and returns the ids it evicted
 * (its receipt, kept, so asking twice gives the same answer); if it did not
 * run, leaves a mark that turns it into a no-op should it run later.
 */
export const SETTLE = `${PRELUDE}
local key = KEYS[1]
local now, id, receipt_ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local xkey = base_of(key) .. 'x:' .. id
local receipt = redis.call('GET', xkey)
local all = load(key)
local list = live(all, now)
local at = find(all, id)
if at then
  local here = find(list, id)
  if here then table.remove(list, here) end
  save(key, list, now)
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
 * KEYS: subject key. ARGV: now, sessionId, presentedHash, successorHash, reuseInterval,
 * idleTtl ('' = keep), claims JSON ('' = keep), revokePrevious ('1' = delete the session when the previous
 * hash comes after the interval, '0' = keep it), then context name/JSON pairs ('' JSON = remove).
 * Returns {status, ...}: rotated/grace + session (REPLY), reused + subject (+ 'kept' when not deleted),
 * mismatch + subject + current hash + generation (the manager walks the presented secret's successors
 * towards that hash to tell an older token from a branch), expired (+ 'idle' when the idle deadline was
 * the one that passed), not_found. Only a mismatch carries a hash: the current one.
 */
export const ROTATE = `${PRELUDE}
local key = KEYS[1]
local now, id, presented, successor = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local reuse, idle_ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local all = load(key)
local list = live(all, now)
local changed = #list ~= #all
local at, rec = find(list, id)
if not rec then
  if changed then save(key, list, now) end
  local _, old = find(all, id)
  if old then
    if deadline_of(old) < old[EXPIRES] then return { 'expired', 'idle' } end
    return { 'expired' }
  end
  return { 'not_found' }
end
if presented == rec[HASH] then
  rec[PREV] = rec[HASH]
  rec[HASH] = successor
  rec[GEN] = rec[GEN] + 1
  rec[REFRESHED] = now
  rec[ROTATED] = now
  if idle_ttl then rec[IDLE] = math.min(now + idle_ttl, rec[EXPIRES]) end
  if ARGV[7] ~= '' then rec[CLAIMS] = ARGV[7] end
  local out = rec
  if #ARGV >= 9 then
    local pos = {}
    for n = CONTEXT, #rec, 2 do pos[rec[n]] = n end
    for n = 9, #ARGV, 2 do
      local p = pos[ARGV[n]]
      if p then
        rec[p + 1] = ARGV[n + 1]
      elseif ARGV[n + 1] ~= '' then
        rec[#rec + 1] = ARGV[n]
        rec[#rec + 1] = ARGV[n + 1]
        pos[ARGV[n]] = #rec - 1
      end
    end
    -- Rebuilt without the removed entries: a hole would end the array for cmsgpack.
    out = {}
    for n = 1, CONTEXT - 1 do out[n] = rec[n] end
    for n = CONTEXT, #rec, 2 do
      if rec[n + 1] ~= '' then
        out[#out + 1] = rec[n]
        out[#out + 1] = rec[n + 1]
      end
    end
    list[at] = out
  end
  save(key, list, now)
  return { 'rotated', reply_of(out) }
end
if rec[PREV] ~= '' and presented == rec[PREV] then
  local in_grace = reuse > 0 and now - rec[ROTATED] <= reuse
  if in_grace and successor == rec[HASH] then
    if changed then save(key, list, now) end
    return { 'grace', reply_of(rec) }
  end
  if not in_grace then
    if ARGV[8] == '0' then
      if changed then save(key, list, now) end
      return { 'reused', rec[SUB], 'kept' }
    end
    table.remove(list, at)
    save(key, list, now)
    return { 'reused', rec[SUB] }
  end
end
if changed then save(key, list, now) end
return { 'mismatch', rec[SUB], rec[HASH], rec[GEN] }
`;

/** KEYS: subject key. ARGV: now, subject. Returns {id, session (REPLY), id, session, ...} of the subject's live sessions. */
export const LIST = `${PRELUDE}
local key = KEYS[1]
local now, subject = tonumber(ARGV[1]), ARGV[2]
local all = load(key)
local list = live(all, now)
if #list ~= #all then save(key, list, now) end
local out = {}
for _, rec in ipairs(list) do
  if rec[SUB] == subject then
    out[#out + 1] = rec[ID]
    out[#out + 1] = reply_of(rec)
  end
end
return out
`;

/**
 * KEYS: subject key. ARGV: now, sessionId, subject.
 * Returns 1 when a live session of this subject was deleted, else 0.
 */
export const DELETE = `${PRELUDE}
local key = KEYS[1]
local now, id, subject = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local all = load(key)
local list = live(all, now)
local at, rec = find(list, id)
if rec and rec[SUB] == subject then
  table.remove(list, at)
  save(key, list, now)
  return 1
end
if #list ~= #all then save(key, list, now) end
return 0
`;

/**
 * KEYS: subject key. ARGV: now, subject. Returns Redis' own time (ms, as a
 * string) followed by the ids of the live sessions deleted: one clock for the
 * subject-wide "issued before", whichever node asks.
 */
export const DELETE_ALL = `${PRELUDE}
local key = KEYS[1]
local now, subject = tonumber(ARGV[1]), ARGV[2]
local t = redis.call('TIME')
local out = { string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) }
local base = base_of(key)
local kept = {}
for _, rec in ipairs(load(key)) do
  if rec[SUB] == subject then
    -- An insert's receipt goes with its session: the subject-wide rule now covers what it evicted.
    redis.call('DEL', base .. 'x:' .. rec[ID])
    if now < deadline_of(rec) then out[#out + 1] = rec[ID] end
  elseif now < deadline_of(rec) then
    kept[#kept + 1] = rec
  end
end
save(key, kept, now)
return out
`;

/**
 * KEYS: subject key. Returns {sessions, subjects} stored under it (live or
 * not), for operator tools that count without decoding MessagePack.
 */
export const SUMMARY = `${PRELUDE}
local subjects, count, sessions = {}, 0, load(KEYS[1])
for _, rec in ipairs(sessions) do
  if not subjects[rec[SUB]] then
    subjects[rec[SUB]] = true
    count = count + 1
  end
end
return { #sessions, count }
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

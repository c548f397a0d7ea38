/*
 * Issue 22: a subject's device history (RefreshTokenStore.rememberDevice),
 * one sorted set per subject: `<prefix>{abcd}:d:efghijk`, on the slot of the
 * subject's sessions key (same hash tag), member a device fingerprint (a keyed
 * hash the manager made: no network or user agent reaches Redis), score when
 * it was last seen (the manager's ms). The key expires `ttl` after its last
 * write, so a subject who stops signing in leaves nothing behind.
 *
 * KEYS: the subject's devices key. ARGV: now, fingerprint, ttl (ms), max.
 * Returns 'known', 'new' or 'first'.
 */
export const REMEMBER_DEVICE = `
local key = KEYS[1]
local now, fp, ttl, max = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
-- Forgotten: last seen at or before now - ttl (at + ttl <= now).
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ttl)
local answer = 'new'
if redis.call('ZSCORE', key, fp) then
  answer = 'known'
elseif redis.call('ZCARD', key) == 0 then
  answer = 'first'
end
redis.call('ZADD', key, now, fp)
-- Bounded: the least recently seen go, never the one just seen (equal scores sort by member).
local over = redis.call('ZCARD', key) - max
if over > 0 then
  local removed = 0
  for _, member in ipairs(redis.call('ZRANGE', key, 0, over)) do
    if removed < over and member ~= fp then
      redis.call('ZREM', key, member)
      removed = removed + 1
    end
  end
end
redis.call('PEXPIRE', key, ttl)
return answer
`;

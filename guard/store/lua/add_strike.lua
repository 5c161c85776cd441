-- KEYS: seen, strikes, ban, index.
-- ARGV: member, event_id, window, threshold, ban_duration, reason, can_ban ('1' or '0'),
--       source, seen_ttl, max_strikes.
-- Returns {strikes in the window, banned (1/0), duplicate (1/0)}.
local at = now()
local window = tonumber(ARGV[3])
local since = at - window

if redis.call('EXISTS', KEYS[1]) == 1 then
  local count = redis.call('ZCOUNT', KEYS[2], '(' .. fmt(since), '+inf')
  return {count, redis.call('EXISTS', KEYS[3]), 1}
end

redis.call('SET', KEYS[1], '1', 'PX', ms(tonumber(ARGV[9])))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt(since))
redis.call('ZADD', KEYS[2], fmt(at), ARGV[2])
local count = redis.call('ZCARD', KEYS[2])
local cap = tonumber(ARGV[10])
if count > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, count - cap - 1)
  count = cap
end
redis.call('PEXPIRE', KEYS[2], ms(window))

local banned = redis.call('EXISTS', KEYS[3])
if banned == 0 and ARGV[7] == '1' and count >= tonumber(ARGV[4]) then
  write_ban(KEYS[3], KEYS[4], ARGV[1], at, tonumber(ARGV[5]), ARGV[6], ARGV[8])
  banned = 1
end
return {count, banned, 0}

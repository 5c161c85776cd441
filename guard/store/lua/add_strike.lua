-- KEYS: the ban index, then every seen marker, strike window and ban the strikes name.
-- ARGV: max_strikes, then one msgpack array with one entry per strike: {seen, strikes, ban
-- (each 1-based, among the keys after the index), member, event_id, window, threshold,
-- ban_duration, reason, can_ban (1/0), source, seen_ttl}.
-- Strikes are counted in order, each as its own call would. Returns one {strikes in the
-- window, banned (1/0), duplicate (1/0)} per strike, msgpack-encoded.
local index = KEYS[1]
local cap = tonumber(ARGV[1])

local function strike(s)
  local seen, strikes, ban = KEYS[s[1] + 1], KEYS[s[2] + 1], KEYS[s[3] + 1]
  local at = now()
  local window = s[6]
  local since = at - window

  if redis.call('EXISTS', seen) == 1 then
    local count = redis.call('ZCOUNT', strikes, '(' .. fmt(since), '+inf')
    return {count, redis.call('EXISTS', ban), 1}
  end

  redis.call('SET', seen, '1', 'PX', ms(s[12]))
  redis.call('ZREMRANGEBYSCORE', strikes, '-inf', fmt(since))
  redis.call('ZADD', strikes, fmt(at), s[5])
  local count = redis.call('ZCARD', strikes)
  if count > cap then
    redis.call('ZREMRANGEBYRANK', strikes, 0, count - cap - 1)
    count = cap
  end
  redis.call('PEXPIRE', strikes, ms(window))

  local banned = redis.call('EXISTS', ban)
  if banned == 0 and s[10] == 1 and count >= s[7] then
    write_ban(ban, index, s[4], at, s[8], s[9], s[11])
    banned = 1
  end
  return {count, banned, 0}
end

local out = {}
for i, s in ipairs(cmsgpack.unpack(ARGV[2])) do
  out[i] = strike(s)
end
return cmsgpack.pack(out)

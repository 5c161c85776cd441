-- Prepended to every script when it is loaded: the server clock, number formatting, and ban
-- writing with its index. All times are the Redis server's, so every process shares one clock.

-- Redis before 5 replicates scripts verbatim, which a script that reads TIME must not be.
if redis.replicate_commands then redis.replicate_commands() end

local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- Scores and times as text: a Lua number given to redis.call keeps only 14 digits.
local function fmt(seconds)
  return string.format('%.6f', seconds)
end

local function ms(seconds)
  return string.format('%d', math.ceil(seconds * 1000))
end

local function prune_index(index, at)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', fmt(at))
end

-- The index lives as long as its longest ban, so it always has a TTL and never outlives use.
local function write_ban(ban, index, member, at, duration, reason, source)
  local ends = at + duration
  redis.call('HSET', ban, 'until', fmt(ends), 'reason', reason, 'created', fmt(at),
    'source', source)
  redis.call('PEXPIRE', ban, ms(duration))
  prune_index(index, at)
  redis.call('ZADD', index, fmt(ends), member)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', index, ms(tonumber(last[2]) - at))
  return {fmt(ends), reason, fmt(at), source}
end

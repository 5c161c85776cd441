-- KEYS: seen, then one group key per update.
-- ARGV: seen_ttl, max_members, then one msgpack array of {member, amount, ttl, tracked (1/0)}
-- per update, in KEYS order (one argument: redis-py packs each argument in Python).
-- Returns, msgpack-encoded, {duplicate (1/0), {{value, members, total, total_sq}, ...}} with
-- one entry per tracked update. A tracked group's hash holds its members' counts and three
-- moment fields no bounded member name can take; an untracked group holds counts only.
local N, SUM, SQ = '\0n', '\0sum', '\0sq'
local updates = cmsgpack.unpack(ARGV[3])
local duplicate = redis.call('EXISTS', KEYS[1])
if duplicate == 0 then
  redis.call('SET', KEYS[1], '1', 'PX', ms(tonumber(ARGV[1])))
end
local cap = tonumber(ARGV[2])

local function expire_new(group, ttl)
  if redis.call('PTTL', group) == -1 then redis.call('PEXPIRE', group, ms(ttl)) end
end

local function count(group, member, amount, ttl)
  local new = redis.call('HINCRBY', group, member, amount)
  if new == amount then
    if redis.call('HLEN', group) > cap then
      redis.call('HDEL', group, member)
    else
      expire_new(group, ttl)
    end
  end
end

local function track(group, member, amount, ttl)
  local old = redis.call('HGET', group, member)
  if not old and tonumber(redis.call('HGET', group, N) or '0') >= cap then return end
  local new = redis.call('HINCRBY', group, member, amount)
  if amount ~= 0 then
    local before = tonumber(old or '0')
    redis.call('HINCRBY', group, SUM, amount)
    redis.call('HINCRBYFLOAT', group, SQ, string.format('%.17g', new * new - before * before))
  end
  if not old then
    redis.call('HINCRBY', group, N, 1)
    expire_new(group, ttl)
  end
end

local out = {}
for i, update in ipairs(updates) do
  local group, member, tracked = KEYS[i + 1], update[1], update[4] == 1
  if duplicate == 0 then
    if tracked then
      track(group, member, update[2], update[3])
    else
      count(group, member, update[2], update[3])
    end
  end
  if tracked then
    local f = redis.call('HMGET', group, member, N, SUM, SQ)
    out[#out + 1] = {tonumber(f[1] or '0'), tonumber(f[2] or '0'), tonumber(f[3] or '0'),
      tonumber(f[4] or '0')}
  end
end
return cmsgpack.pack({duplicate, out})

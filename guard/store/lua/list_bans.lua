-- KEYS: index.  ARGV: limit, ban key prefix.
-- Up to limit active bans, soonest to expire first, each {member, until, reason, created,
-- source}. Expired members, and members whose ban key is gone, are dropped from the index.
prune_index(KEYS[1], now())
local limit = tonumber(ARGV[1])
local out = {}
local start = 0
while #out < limit do
  local batch = redis.call('ZRANGE', KEYS[1], start, start + limit - 1)
  if #batch == 0 then break end
  local kept = 0
  for _, member in ipairs(batch) do
    local f = redis.call('HMGET', ARGV[2] .. member, 'until', 'reason', 'created', 'source')
    if not f[1] then
      redis.call('ZREM', KEYS[1], member)
    elseif #out < limit then
      kept = kept + 1
      out[#out + 1] = {member, f[1], f[2], f[3], f[4]}
    end
  end
  start = start + kept
end
return out

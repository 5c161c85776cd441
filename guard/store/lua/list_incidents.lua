-- KEYS: index.  ARGV: limit, incident key prefix.
-- Up to limit live incidents, most recently active first, each {id, flat field/value list}.
-- Members whose incident has expired are dropped from the index.
local limit = tonumber(ARGV[1])
local out = {}
local start = 0
while #out < limit do
  local batch = redis.call('ZREVRANGE', KEYS[1], start, start + limit - 1)
  if #batch == 0 then break end
  local kept = 0
  for _, id in ipairs(batch) do
    local fields = redis.call('HGETALL', ARGV[2] .. id)
    if #fields == 0 then
      redis.call('ZREM', KEYS[1], id)
    elseif #out < limit then
      kept = kept + 1
      out[#out + 1] = {id, fields}
    end
  end
  start = start + kept
end
return out

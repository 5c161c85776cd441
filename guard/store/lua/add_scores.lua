-- KEYS: one seen marker per token, in order, then every index key the tokens name.
-- ARGV: seen_ttl, then one msgpack array with one entry per token: its updates, each
-- {index (1-based, among the index keys), member, amount, ttl, max_members}.
-- Per token, in order: add each amount to its member's score unless the token was seen; the
-- call that creates an index sets its TTL, and a full index drops its lowest members.
-- Returns one 1 (applied) or 0 (token already seen) per token.
local batch = cmsgpack.unpack(ARGV[2])
local tokens = #batch
local seen_ttl = ms(tonumber(ARGV[1]))
-- An index seen with a TTL keeps it for the rest of the script: trimming never empties it.
local timed = {}
local out = {}
for t, updates in ipairs(batch) do
  if not redis.call('SET', KEYS[t], '1', 'PX', seen_ttl, 'NX') then
    out[t] = 0
  else
    for _, update in ipairs(updates) do
      local i = update[1]
      local index = KEYS[tokens + i]
      redis.call('ZINCRBY', index, string.format('%.17g', update[3]), update[2])
      local excess = redis.call('ZCARD', index) - update[5]
      if excess > 0 then redis.call('ZREMRANGEBYRANK', index, 0, excess - 1) end
      if not timed[i] then
        if redis.call('PTTL', index) == -1 then redis.call('PEXPIRE', index, ms(update[4])) end
        timed[i] = true
      end
    end
    out[t] = 1
  end
end
return out

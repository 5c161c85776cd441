-- KEYS: one seen marker per token, in order, then every index key the tokens name.
-- ARGV: seen_ttl, then one msgpack array with one entry per token: its updates, each
-- {index (1-based, among the index keys), member, amount, ttl, max_members}.
-- Adds the amounts of every token not seen before, summed per index and member and written in
-- the order first named; then each index the call grew past the smallest max_members named for
-- it drops its lowest members, and the call that creates an index sets its TTL (the first one
-- named). Returns one 1 (applied) or 0 (token already seen) per token.
local batch = cmsgpack.unpack(ARGV[2])
local tokens = #batch
local seen_ttl = ms(tonumber(ARGV[1]))
local summed, order = {}, {}
local bounds, ttls, indexes = {}, {}, {}
local out = {}
for t, updates in ipairs(batch) do
  if not redis.call('SET', KEYS[t], '1', 'PX', seen_ttl, 'NX') then
    out[t] = 0
  else
    for _, update in ipairs(updates) do
      local i, member, amount = update[1], update[2], update[3]
      local members = summed[i]
      if not members then
        members = {}
        summed[i] = members
        ttls[i] = update[4]
        bounds[i] = update[5]
        indexes[#indexes + 1] = i
      elseif update[5] < bounds[i] then
        bounds[i] = update[5]
      end
      local row = members[member]
      if row then
        row[3] = row[3] + amount
      else
        row = {i, member, amount}
        members[member] = row
        order[#order + 1] = row
      end
    end
    out[t] = 1
  end
end
for _, row in ipairs(order) do
  redis.call('ZINCRBY', KEYS[tokens + row[1]], string.format('%.17g', row[3]), row[2])
end
for _, i in ipairs(indexes) do
  local index = KEYS[tokens + i]
  local excess = redis.call('ZCARD', index) - bounds[i]
  if excess > 0 then redis.call('ZREMRANGEBYRANK', index, 0, excess - 1) end
  if redis.call('PTTL', index) == -1 then redis.call('PEXPIRE', index, ms(ttls[i])) end
end
return out

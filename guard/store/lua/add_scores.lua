-- KEYS: seen, then one index key per update.
-- ARGV: seen_ttl, then one msgpack array of {member, amount, ttl, max_members} per update, in
-- KEYS order. Adds each amount to its member's score unless the token was seen; the call that
-- creates an index sets its TTL, and a full index drops its lowest members.
-- Returns 1 when the updates were applied, 0 for a token already seen.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ms(tonumber(ARGV[1])))
for i, update in ipairs(cmsgpack.unpack(ARGV[2])) do
  local index = KEYS[i + 1]
  redis.call('ZINCRBY', index, string.format('%.17g', update[2]), update[1])
  local excess = redis.call('ZCARD', index) - update[4]
  if excess > 0 then redis.call('ZREMRANGEBYRANK', index, 0, excess - 1) end
  if redis.call('PTTL', index) == -1 then redis.call('PEXPIRE', index, ms(update[3])) end
end
return 1

-- KEYS: index.  ARGV: member, score, ttl, max_members.
-- Keep the highest score per member; the index expires ttl after the call that created it and
-- keeps its max_members highest members. Returns the member's score (as text).
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held and tonumber(held) >= tonumber(ARGV[2]) then
  return held
end
local created = redis.call('EXISTS', KEYS[1]) == 0
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
if created then redis.call('PEXPIRE', KEYS[1], ms(tonumber(ARGV[3]))) end
return ARGV[2]

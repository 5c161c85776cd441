-- KEYS: counter.  ARGV: amount, ttl.
-- Add amount and return the new value. The increment that creates the counter sets its TTL.
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ms(tonumber(ARGV[2])))
end
return value

-- KEYS: ban, index.  ARGV: member.
-- Lift the ban; return 1 when there was one.
redis.call('ZREM', KEYS[2], ARGV[1])
prune_index(KEYS[2], now())
return redis.call('DEL', KEYS[1])

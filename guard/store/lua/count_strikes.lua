-- KEYS: strikes.  ARGV: window.
-- Strikes scored within the last window seconds.
return redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now() - tonumber(ARGV[1])), '+inf')

-- KEYS: ban, index.  ARGV: member, duration, reason, source.
-- Ban the member unless a ban that lasts longer is in force; return the ban in force as
-- {until, reason, created, source}.
local at = now()
local duration = tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'until', 'reason', 'created', 'source')
if held[1] and tonumber(held[1]) >= at + duration then
  return held
end
return write_ban(KEYS[1], KEYS[2], ARGV[1], at, duration, ARGV[3], ARGV[4])

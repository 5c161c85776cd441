-- KEYS: group.  ARGV: most members to list.
-- Returns {members, total, total_sq, flat member/count list (empty when the group is larger
-- than the listing bound)}.
local f = redis.call('HMGET', KEYS[1], '\0n', '\0sum', '\0sq')
local listed = {}
if tonumber(f[1] or '0') <= tonumber(ARGV[1]) then
  listed = redis.call('HGETALL', KEYS[1])
end
return {f[1] or '0', f[2] or '0', f[3] or '0', listed}

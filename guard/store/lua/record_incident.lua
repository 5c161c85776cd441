-- KEYS: event (seen marker), correlation link, client link, index.
-- ARGV: new incident id, incident key prefix, client, correlation_id, ts, part, class, action,
--       score, gap, ttl, dedupe_ttl, max_incidents, max_items.
-- Returns {duplicate (1/0), incident id}.
local SEP = '\31'
local prefix = ARGV[2]
local held = redis.call('GET', KEYS[1])
if held and redis.call('EXISTS', prefix .. held) == 1 then
  return {1, held}
end

local function live(link)
  local id = redis.call('GET', link)
  if id and redis.call('EXISTS', prefix .. id) == 1 then return id end
  return nil
end

local id
if ARGV[4] ~= '' then id = live(KEYS[2]) end
id = id or live(KEYS[3]) or ARGV[1]
local key = prefix .. id
local ts = tonumber(ARGV[5])
local max_items = tonumber(ARGV[14])

local function add_item(field, item)
  if item == '' then return end
  local current = redis.call('HGET', key, field)
  if not current or current == '' then
    redis.call('HSET', key, field, item)
    return
  end
  local n = 0
  for piece in string.gmatch(current, '[^' .. SEP .. ']+') do
    if piece == item then return end
    n = n + 1
  end
  if n < max_items then redis.call('HSET', key, field, current .. SEP .. item) end
end

local f = redis.call('HMGET', key, 'first_seen', 'last_seen', 'max_score')
local first, last = ts, ts
if f[1] then
  first = math.min(tonumber(f[1]), ts)
  last = math.max(tonumber(f[2]), ts)
end
redis.call('HSETNX', key, 'client', ARGV[3])
redis.call('HSET', key, 'first_seen', fmt(first), 'last_seen', fmt(last),
  'max_score', string.format('%.6f', math.max(tonumber(f[3] or ARGV[9]), tonumber(ARGV[9]))))
redis.call('HINCRBY', key, 'events', 1)
add_item('clients', ARGV[3])
add_item('correlation_ids', ARGV[4])
add_item('parts', ARGV[6])
add_item('classes', ARGV[7])
add_item('actions', ARGV[8])
local ttl = tonumber(ARGV[11])
redis.call('PEXPIRE', key, ms(ttl))

local gap = ms(tonumber(ARGV[10]))
redis.call('SET', KEYS[1], id, 'PX', ms(tonumber(ARGV[12])))
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], id, 'PX', gap) end
redis.call('SET', KEYS[3], id, 'PX', gap)
redis.call('ZADD', KEYS[4], fmt(last), id)
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[13])
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1) end
redis.call('PEXPIRE', KEYS[4], ms(ttl))
return {0, id}

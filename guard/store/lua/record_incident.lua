-- KEYS: the incident index, then every event marker, correlation link and client link the
-- events name.
-- ARGV: incident key prefix, gap, ttl, dedupe_ttl, max_incidents, max_items, then one msgpack
-- array with one entry per event: {event marker, correlation link, client link (each 1-based,
-- among the keys after the index), event id (the new incident's id), client, correlation_id,
-- ts, part, class, action, score}.
-- Events are recorded in order, each as its own call would. Returns, msgpack-encoded, one
-- {duplicate (1/0), incident id} per event.
local SEP = '\31'
local PIECE = '[^' .. SEP .. ']+'
local LISTS = {'clients', 'correlation_ids', 'parts', 'classes', 'actions'}
local index = KEYS[1]
local prefix = ARGV[1]
local gap = ms(tonumber(ARGV[2]))
local ttl = ms(tonumber(ARGV[3]))
local seen_ttl = ms(tonumber(ARGV[4]))
local max_incidents = tonumber(ARGV[5])
local max_items = tonumber(ARGV[6])

local function live(link)
  local id = redis.call('GET', link)
  if id and redis.call('EXISTS', prefix .. id) == 1 then return id end
  return nil
end

-- The list with item appended when it is new and there is room, else nil (nothing to write).
local function added(current, item)
  if item == '' then return nil end
  if not current or current == '' then return item end
  local n = 0
  for piece in string.gmatch(current, PIECE) do
    if piece == item then return nil end
    n = n + 1
  end
  if n < max_items then return current .. SEP .. item end
  return nil
end

-- The index's size, read once: ZADD says whether it added a member, and only trimming removes.
local size
-- Keys given their TTL in this script: set with an incident's (or the index's) first write
-- here, it is the one its last write would set, to within the script's run time.
local timed = {}

local function expire(key)
  if not timed[key] then
    redis.call('PEXPIRE', key, ttl)
    timed[key] = true
  end
end

local function record(e)
  local marker, corr_link, client_link = KEYS[e[1] + 1], KEYS[e[2] + 1], KEYS[e[3] + 1]
  local client, corr, ts, score = e[5], e[6], e[7], e[11]
  local held = redis.call('GET', marker)
  if held and redis.call('EXISTS', prefix .. held) == 1 then
    return {1, held}
  end

  local id
  if corr ~= '' then id = live(corr_link) end
  id = id or live(client_link) or e[4]
  local key = prefix .. id

  local f = redis.call('HMGET', key, 'first_seen', 'last_seen', 'max_score', 'events', 'client',
    unpack(LISTS))
  local first, last = ts, ts
  if f[1] then
    first = math.min(tonumber(f[1]), ts)
    last = math.max(tonumber(f[2]), ts)
  end
  local fields = {'first_seen', fmt(first), 'last_seen', fmt(last),
    'max_score', string.format('%.6f', math.max(tonumber(f[3] or score), score)),
    'events', string.format('%d', tonumber(f[4] or '0') + 1)}
  if not f[5] then
    fields[#fields + 1] = 'client'
    fields[#fields + 1] = client
  end
  local items = {client, corr, e[8], e[9], e[10]}
  for i, name in ipairs(LISTS) do
    local list = added(f[i + 5], items[i])
    if list then
      fields[#fields + 1] = name
      fields[#fields + 1] = list
    end
  end
  redis.call('HSET', key, unpack(fields))
  expire(key)

  redis.call('SET', marker, id, 'PX', seen_ttl)
  if corr ~= '' then redis.call('SET', corr_link, id, 'PX', gap) end
  redis.call('SET', client_link, id, 'PX', gap)
  size = size or redis.call('ZCARD', index)
  size = size + redis.call('ZADD', index, fmt(last), id)
  if size > max_incidents then
    redis.call('ZREMRANGEBYRANK', index, 0, size - max_incidents - 1)
    size = max_incidents
  end
  expire(index)
  return {0, id}
end

local out = {}
for i, e in ipairs(cmsgpack.unpack(ARGV[7])) do
  out[i] = record(e)
end
return cmsgpack.pack(out)

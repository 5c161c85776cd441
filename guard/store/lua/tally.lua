-- KEYS: one seen marker per token, in order, then every group key the tokens name.
-- ARGV: seen_ttl, max_members, then three msgpack arrays:
--   ARGV[3], the tracked updates, one list per token: {group (1-based, among the group keys),
--     member, amount, ttl} each;
--   ARGV[4], the untracked counts of all the tokens summed: {group, member, amount, ttl} per
--     distinct group and member, in the order first named, with the ttl first named;
--   ARGV[5], the same counts per token, read only when some token was seen before: one flat
--     list per token of {count (1-based, in ARGV[4]), amount, ttl} triples.
-- Returns, msgpack-encoded, one {duplicate (1/0), {{value, members, total, total_sq}, ...}}
-- per token, with one entry per tracked update. A tracked group's hash holds its members'
-- counts and three moment fields no bounded member name can take; an untracked group holds
-- counts only.
--
-- Tokens are applied in order, each as its own call would be, and each tracked update reads
-- back the group as it stands right after it. The script is atomic, so it reads each tracked
-- group once, keeps it here while it applies the updates, and writes what changed at the end;
-- untracked counts return nothing and touch no tracked group (a group is updated one way only),
-- so they are summed per member and written once at the end, in the order first named. A batch
-- with no token seen before takes the sums as they come; only one with a seen token sums its
-- new tokens' counts here. The counts, caps and TTLs are those of one write per update, for a
-- fraction of the commands.
local N, SUM, SQ = '\0n', '\0sum', '\0sq'
local FIELDS = 500
local batch = cmsgpack.unpack(ARGV[3])
local tokens = #batch
local seen_ttl = ms(tonumber(ARGV[1]))
local cap = tonumber(ARGV[2])

local function expire_new(group, ttl)
  if redis.call('PTTL', group) == -1 then redis.call('PEXPIRE', group, ms(ttl)) end
end

local duplicates = {}
local any_duplicate = false
for t = 1, tokens do
  duplicates[t] = not redis.call('SET', KEYS[t], '1', 'PX', seen_ttl, 'NX')
  any_duplicate = any_duplicate or duplicates[t]
end

-- Tracked groups: the moments and the members' counts read up front (false: not a member).
local tracked, tracked_order = {}, {}
for _, updates in ipairs(batch) do
  for _, update in ipairs(updates) do
    local g = tracked[update[1]]
    if not g then
      g = {names = {}, named = {}, values = {}, changed = {}, order = {}, dn = 0, dsum = 0,
        dsq = 0}
      tracked[update[1]] = g
      tracked_order[#tracked_order + 1] = update[1]
    end
    if not g.named[update[2]] then
      g.named[update[2]] = true
      g.names[#g.names + 1] = update[2]
    end
  end
end
for _, i in ipairs(tracked_order) do
  local g, group = tracked[i], KEYS[tokens + i]
  local f = redis.call('HMGET', group, N, SUM, SQ)
  g.n, g.sum, g.sq = tonumber(f[1] or '0'), tonumber(f[2] or '0'), tonumber(f[3] or '0')
  for start = 1, #g.names, FIELDS do
    local names = {}
    for k = start, math.min(start + FIELDS - 1, #g.names) do names[#names + 1] = g.names[k] end
    local counts = redis.call('HMGET', group, unpack(names))
    for k, name in ipairs(names) do g.values[name] = counts[k] and tonumber(counts[k]) end
  end
end

local function track(g, member, amount, ttl)
  local old = g.values[member]
  if not old and g.n >= cap then return end
  local new = (old or 0) + amount
  g.values[member] = new
  if not g.changed[member] then
    g.changed[member] = true
    g.order[#g.order + 1] = member
  end
  if amount ~= 0 then
    local before = old or 0
    local square = new * new - before * before
    g.sum, g.dsum = g.sum + amount, g.dsum + amount
    g.sq, g.dsq = g.sq + square, g.dsq + square
  end
  if not old then
    g.n, g.dn = g.n + 1, g.dn + 1
    g.ttl = g.ttl or ttl
  end
end

local out = {}
for t, updates in ipairs(batch) do
  local rows = {}
  for k, update in ipairs(updates) do
    local g, member = tracked[update[1]], update[2]
    if not duplicates[t] then track(g, member, update[3], update[4]) end
    rows[k] = {g.values[member] or 0, g.n, g.sum, g.sq}
  end
  out[t] = {duplicates[t] and 1 or 0, rows}
end

for _, i in ipairs(tracked_order) do
  local g, group = tracked[i], KEYS[tokens + i]
  for start = 1, #g.order, FIELDS do
    local fields = {}
    for k = start, math.min(start + FIELDS - 1, #g.order) do
      local member = g.order[k]
      fields[#fields + 1] = member
      fields[#fields + 1] = string.format('%d', g.values[member])
    end
    redis.call('HSET', group, unpack(fields))
  end
  if g.dsum ~= 0 then redis.call('HINCRBY', group, SUM, g.dsum) end
  if g.dsq ~= 0 then
    redis.call('HINCRBYFLOAT', group, SQ, string.format('%.17g', g.dsq))
  end
  if g.dn ~= 0 then
    redis.call('HINCRBY', group, N, g.dn)
    expire_new(group, g.ttl)
  end
end

-- The untracked counts of the tokens not seen before, as {group, member, amount, ttl} rows.
local counts = cmsgpack.unpack(ARGV[4])
if any_duplicate then
  local summed, order = {}, {}
  for t, flat in ipairs(cmsgpack.unpack(ARGV[5])) do
    if not duplicates[t] then
      for k = 1, #flat, 3 do
        local c = flat[k]
        local row = summed[c]
        if row then
          row[3] = row[3] + flat[k + 1]
        else
          row = {counts[c][1], counts[c][2], flat[k + 1], flat[k + 2]}
          summed[c] = row
          order[#order + 1] = row
        end
      end
    end
  end
  counts = order
end

for _, row in ipairs(counts) do
  local group, member, amount = KEYS[tokens + row[1]], row[2], row[3]
  local new = redis.call('HINCRBY', group, member, amount)
  if new == amount then
    if redis.call('HLEN', group) > cap then
      redis.call('HDEL', group, member)
    else
      expire_new(group, row[4])
    end
  end
end
return cmsgpack.pack(out)

-- KEYS: one seen marker per token, in order, then every group key the tokens name.
-- ARGV: seen_ttl, max_members, then one msgpack array with one entry per token: its updates,
-- each {group (1-based, among the group keys), member, amount, ttl, tracked (1/0)}.
-- Returns, msgpack-encoded, one {duplicate (1/0), {{value, members, total, total_sq}, ...}}
-- per token, with one entry per tracked update. A tracked group's hash holds its members'
-- counts and three moment fields no bounded member name can take; an untracked group holds
-- counts only.
--
-- Tokens are applied in order, each as its own call would be, and each tracked update reads
-- back the group as it stands right after it. The script is atomic, so it reads each tracked
-- group once, keeps it here while it applies the updates, and writes what changed at the end;
-- untracked counts return nothing and touch no tracked group (a group is updated one way only),
-- so they are summed per member and written once at the end, in the order first named. The
-- counts, caps and TTLs are those of one write per update, for a fraction of the commands.
local N, SUM, SQ = '\0n', '\0sum', '\0sq'
local FIELDS = 500
local batch = cmsgpack.unpack(ARGV[3])
local tokens = #batch
local seen_ttl = ms(tonumber(ARGV[1]))
local cap = tonumber(ARGV[2])

local function expire_new(group, ttl)
  if redis.call('PTTL', group) == -1 then redis.call('PEXPIRE', group, ms(ttl)) end
end

-- Tracked groups: the moments and the members' counts read up front (false: not a member).
local tracked, tracked_order = {}, {}
for _, updates in ipairs(batch) do
  for _, update in ipairs(updates) do
    if update[5] == 1 then
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

local counts, count_order = {}, {}
local out = {}
for t, updates in ipairs(batch) do
  local duplicate = redis.call('SET', KEYS[t], '1', 'PX', seen_ttl, 'NX') and 0 or 1
  local rows = {}
  for _, update in ipairs(updates) do
    local i, member, amount, ttl = update[1], update[2], update[3], update[4]
    if update[5] == 1 then
      local g = tracked[i]
      if duplicate == 0 then track(g, member, amount, ttl) end
      rows[#rows + 1] = {g.values[member] or 0, g.n, g.sum, g.sq}
    elseif duplicate == 0 then
      local members = counts[i]
      if not members then
        members = {}
        counts[i] = members
      end
      local held = members[member]
      if held then
        held[1] = held[1] + amount
      else
        members[member] = {amount, ttl}
        count_order[#count_order + 1] = {i, member}
      end
    end
  end
  out[t] = {duplicate, rows}
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

for _, item in ipairs(count_order) do
  local i, member = item[1], item[2]
  local held = counts[i][member]
  local group = KEYS[tokens + i]
  local new = redis.call('HINCRBY', group, member, held[1])
  if new == held[1] then
    if redis.call('HLEN', group) > cap then
      redis.call('HDEL', group, member)
    else
      expire_new(group, held[2])
    end
  end
end
return cmsgpack.pack(out)

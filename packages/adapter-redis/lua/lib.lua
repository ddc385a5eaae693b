-- Shared helpers, prepended to every script (after the key functions generated from keys.ts). All keys
-- of one guard share the hash tag in `prefix`, so every script runs in one slot, on a single node or a
-- Redis Cluster.
-- Amounts are integer micro-units; they are written with int() because Lua 5.1 prints large
-- numbers in exponent form, which HINCRBY would refuse.

local function int(x)
  return string.format('%d', x)
end

-- Time for reservation expiry and call deadlines comes from the server, so many machines need no
-- agreeing clocks. Every script that records returns it first, for the adapter's clock offset.
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A ref, as the adapter encodes it: { name, period, day, limit (or false), hard (0/1), periodEnd, rule, marks (or false), limitKeys... }
local function effective_limit(limits_key, has_overrides, ref)
  if has_overrides then
    for i = 9, #ref do
      local v = redis.call('HGET', limits_key, ref[i])
      if v then return tonumber(v) end
    end
  end
  if ref[4] == false then return nil end
  return tonumber(ref[4])
end

-- Totals as the adapter decodes them: { limit, limitBefore, used, usedBefore, reserved, dayUsed, previousPeriod, previousUsed, leased }
local function read_totals(prefix, ref, limit)
  local cur = redis.call('HMGET', key_totals(prefix, ref[1], ref[2]), 'u', 'r', 'd', 'du', 'l')
  local used = tonumber(cur[1]) or 0
  local day_used = 0
  if cur[3] == ref[3] then day_used = tonumber(cur[4]) or 0 end
  return { limit, limit, used, used, tonumber(cur[2]) or 0, day_used, '', 0, tonumber(cur[5]) or 0 }
end

-- How much of what is free a lease step grants (lease-grant.ts's grantFor): `want` while at least twice
-- that is free; else half of what is free, but at least `min`; never more than is free, and nothing when
-- less than `min` is free.
local function grant_for(wanted, min, free)
  local want = math.max(wanted, min)
  if want <= 0 or free <= 0 or free < min then return 0 end
  if free >= 2 * want then return want end
  return math.min(free, math.max(min, math.floor(free / 2)))
end

-- When a period's records may be forgotten: history retention after the period ends (0: never).
local function forget_at(ref, retention)
  local period_end = tonumber(ref[6])
  if period_end > 0 then return period_end + retention end
  return 0
end

-- Lists an instance under its rule, scored by when it may be forgotten; drops the ones whose time is up.
-- The listing itself expires with its last member, so a rule that sees no more writes leaves nothing.
-- (It runs on an instance's first write in a period, not on every spend.)
local function list_instance(prefix, ref, forget, now)
  local listing = key_instances(prefix, ref[7])
  local score = forget
  if forget == 0 then score = 9007199254740991 end
  redis.call('ZADD', listing, 'GT', 'CH', int(score), ref[1])
  redis.call('ZREMRANGEBYSCORE', listing, '-inf', int(now))
  local last = redis.call('ZRANGE', listing, -1, -1, 'WITHSCORES')[2]
  if last and tonumber(last) < 9007199254740991 then
    redis.call('PEXPIREAT', listing, last)
  elseif last then
    redis.call('PERSIST', listing)
  end
end

-- Frees the holds of reservations whose time is up, oldest first: at most `batch` of them (nil: every
-- one that is due). A held reservation's record never expires (it gets its time to live here or when
-- settled), so its amount and instances are always there to free. A totals record that was forgotten
-- meanwhile is left alone, not recreated.
local function purge(prefix, holds_key, now, retention, batch)
  local due
  if batch then
    due = redis.call('ZRANGEBYSCORE', holds_key, '-inf', now, 'LIMIT', 0, batch)
  else
    due = redis.call('ZRANGEBYSCORE', holds_key, '-inf', now)
  end
  for _, id in ipairs(due) do
    local rkey = key_reservation(prefix, id)
    local r = redis.call('HMGET', rkey, 'a', 'refs', 's')
    if r[3] == 'held' then
      for _, ref in ipairs(cjson.decode(r[2])) do
        local tkey = key_totals(prefix, ref[1], ref[2])
        if redis.call('EXISTS', tkey) == 1 then redis.call('HINCRBY', tkey, 'r', int(-tonumber(r[1]))) end
      end
      redis.call('HSET', rkey, 's', 'expired')
      redis.call('PEXPIRE', rkey, int(retention))
    end
  end
  if not batch then
    redis.call('ZREMRANGEBYSCORE', holds_key, '-inf', now)
  elseif #due > 0 then
    redis.call('ZREM', holds_key, unpack(due))
  end
  return #due
end

-- The refs: one JSON array of refs in ARGV[at] (decoded in C by cjson: cheaper than many arguments).
local function decode_refs(at)
  return cjson.decode(ARGV[at])
end

local function flatten(out, totals)
  for _, t in ipairs(totals) do
    if t then
      out[#out + 1] = 1
      for _, v in ipairs(t) do out[#out + 1] = v end
    else
      out[#out + 1] = 0
    end
  end
  return out
end

-- The durable feed (feed.ts): whether a step's before/after totals may have caused events on a ref — used
-- moved across one of its marks, up or down (give or take a micro-unit and a relative 1e-12), the limit changed,
-- or the step opened a period.
local function may_cause_events(ref, used_before, used, limit_before, limit, previous)
  local marks = ref[8]
  if not marks then return false end
  if previous or limit ~= limit_before then return true end
  if used == used_before then return false end
  local lo, hi = math.min(used, used_before), math.max(used, used_before)
  local tolerance = 1 + limit * 1e-12
  for _, f in ipairs(marks[1]) do
    local p = f * limit
    if lo < p + tolerance and hi >= p - tolerance then return true end
  end
  for _, p in ipairs(marks[2]) do
    if lo < p + tolerance and hi >= p - tolerance then return true end
  end
  return false
end

-- Appends one fact to the feed stream, dropping the ones older than the retention; returns its id.
-- Written by hand: cjson prints numbers with 14 digits, which would round large amounts.
local function append_fact(feed_key, now, event_retention, ref, used_before, used, limit_before, limit, prev_period, prev_used, overage)
  local parts = {
    '{"at":', int(now), ',"name":', cjson.encode(ref[1]), ',"rule":', cjson.encode(ref[7]), ',"period":', cjson.encode(ref[2]),
    ',"usedBefore":', int(used_before), ',"used":', int(used), ',"limitBefore":', int(limit_before), ',"limit":', int(limit),
  }
  if prev_period then
    parts[#parts + 1] = ',"previous":{"period":' .. cjson.encode(prev_period) .. ',"used":' .. int(prev_used) .. '}'
  end
  if overage then
    parts[#parts + 1] = ',"overage":{"reservationId":' .. cjson.encode(overage[1]) .. ',"reserved":' .. int(overage[2]) .. ',"actual":' .. int(overage[3]) .. '}'
  end
  parts[#parts + 1] = '}'
  -- The stream is trimmed by the longest retention any process on it asked for, not the writer's own.
  local longest_key = feed_key .. ':r'
  local longest = tonumber(redis.call('GET', longest_key)) or 0
  if event_retention > longest then
    redis.call('SET', longest_key, int(event_retention))
    longest = event_retention
  end
  return redis.call('XADD', feed_key, 'MINID', int(math.max(0, now - longest)), '*', 'f', table.concat(parts))
end

-- Charges in full the leased slices whose time is up (their holders are presumed dead): at most 64 per
-- step, with a feed fact for the crossing it causes. The totals keep the used the level was last derived
-- from in 'su', so that the next step on the instance reports the crossing to its listeners. A totals
-- record forgotten meanwhile is left alone.
local function purge_leases(prefix, leases_key, now, retention, feed_key, event_retention)
  local due = redis.call('ZRANGEBYSCORE', leases_key, '-inf', now, 'LIMIT', 0, 64)
  for _, id in ipairs(due) do
    local lkey = key_lease(prefix, id)
    local l = redis.call('HMGET', lkey, 'a', 'rc', 'ref', 'x')
    local amount = tonumber(l[1]) or 0
    if amount > 0 and (tonumber(l[4]) or 0) <= now then
      local ref = cjson.decode(l[3])
      local tkey = key_totals(prefix, ref[1], ref[2])
      local cur = redis.call('HMGET', tkey, 'u', 'r', 'l', 'su', 'd', 'du', 'sl')
      if cur[1] then
        local u = tonumber(cur[1])
        local d, du = cur[5] or '', tonumber(cur[6]) or 0
        if d == ref[3] then
          du = du + amount
        elseif ref[3] > d then
          d, du = ref[3], amount
        end
        redis.call('HSET', tkey, 'u', int(u + amount), 'r', int((tonumber(cur[2]) or 0) - amount),
          'l', int((tonumber(cur[3]) or 0) - amount), 'su', cur[4] or int(u), 'd', d, 'du', int(du))
        -- The feed has the crossing now, even if no step ever comes to this instance-period again.
        local limit = tonumber(cur[7])
        if limit and may_cause_events(ref, u, u + amount, limit, limit, nil) then
          append_fact(feed_key, now, event_retention, ref, u, u + amount, limit, limit, nil, 0, nil)
        end
      end
      redis.call('HSET', lkey, 'a', '0', 'rc', int((tonumber(l[2]) or 0) + amount))
      redis.call('PEXPIRE', lkey, int(retention))
    end
  end
  if #due > 0 then redis.call('ZREM', leases_key, unpack(due)) end
end


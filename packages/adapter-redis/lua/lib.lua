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

-- A ref, as the adapter encodes it: { name, period, day, limit (or false), hard ('1'/'0'), periodEnd, rule,
-- marks (or false), limitKeys..., rollover ({ max, previous period }: only when the ref has one) }.

-- Where a ref's limit keys end: before its rollover, the only table after the marks (keys are strings).
local function keys_end(ref)
  local n = #ref
  if n > 8 and type(ref[n]) == 'table' then return n - 1 end
  return n
end

-- The ref's rollover { max, previous period }, or nil.
local function rollover_of(ref)
  local n = #ref
  if n > 8 and type(ref[n]) == 'table' then return ref[n] end
  return nil
end

-- Whether overrides and grants exist. Usually neither does, and one EXISTS answers for both.
local function runtime_limits(limits_key, grants_key)
  local n = redis.call('EXISTS', limits_key, grants_key)
  if n == 0 then return false, false end
  if n == 2 then return true, true end
  local overrides = redis.call('EXISTS', limits_key) == 1
  return overrides, not overrides
end

-- A ref's base limit: the first override present, else its configured limit (nil: none).
local function base_limit(limits_key, has_overrides, ref)
  if has_overrides then
    for i = 9, keys_end(ref) do
      local v = redis.call('HGET', limits_key, ref[i])
      if v then return tonumber(v) end
    end
  end
  if ref[4] == false then return nil end
  return tonumber(ref[4])
end

-- What rollover carries into a period (effective-limit.ts's carriedIn): the unused part of the base
-- limit, at most max; nothing into an instance's first period (previous_used nil).
local function carried_in(max, base, previous_used)
  if previous_used == nil then return 0 end
  return math.min(max, math.max(0, base - previous_used))
end

-- The used that a period not yet opened carries from (record-adapter.ts's carriedOf): the previous
-- period's; 0 when it has no totals but the instance was active before it (its whole limit went unused);
-- nil when the instance never was. `used_of(key)` is a totals record's used, nil when there is none.
local function previous_used(prefix, ref, rollover, used_of)
  local used = used_of(key_totals(prefix, ref[1], rollover[2]))
  if used then return used end
  local last = redis.call('GET', key_latest_period(prefix, ref[1]))
  if last and last < rollover[2] then return 0 end
  return nil
end

local function stored_used(key)
  return tonumber(redis.call('HGET', key, 'u'))
end

-- An instance's grants, as the grant script keeps them: { id, amount, expiresAt, grantedAt, reason? }
-- with the numbers as strings (cjson writes numbers back with 14 digits).
local function grants_of(grants_key, name)
  local raw = redis.call('HGET', grants_key, name)
  if raw then return cjson.decode(raw) end
  return nil
end

-- The sum of the grants that count at `now` (effective-limit.ts's activeGrants): those expiring after
-- it. `now` is the caller's clock, as for every store: a grant ends when the guard's time says so.
local function active_grants(list, now)
  local sum = 0
  for _, g in ipairs(list) do
    if tonumber(g[3]) > now then sum = sum + tonumber(g[2]) end
  end
  return sum
end

-- Rewrites an instance's grants without those expired at `now` (none left: deleted), and files the
-- instance under its earliest expiry, when the list has to be looked at again.
local function keep_grants(grants_key, due_key, name, list, now)
  local kept, first = {}, nil
  for _, g in ipairs(list) do
    if tonumber(g[3]) > now then
      kept[#kept + 1] = g
      if not first or tonumber(g[3]) < tonumber(first) then first = g[3] end
    end
  end
  if #kept == 0 then
    redis.call('HDEL', grants_key, name)
    redis.call('ZREM', due_key, name)
  else
    redis.call('HSET', grants_key, name, cjson.encode(kept))
    redis.call('ZADD', due_key, first, name)
  end
  return kept
end

-- Forgets expired grants, a bounded batch at a time: those of at most `batch` instances whose earliest
-- grant has expired at `now`.
local function forget_grants(grants_key, due_key, now, batch)
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', due_key, '-inf', now, 'LIMIT', 0, batch)) do
    local list = grants_of(grants_key, name)
    if list then
      keep_grants(grants_key, due_key, name, list, now)
    else
      redis.call('ZREM', due_key, name)
    end
  end
end

-- A ref's totals at the caller's `now` as read and observe return them, changing nothing: { limit,
-- limitBefore, used, usedBefore, reserved, dayUsed, previousPeriod, previousUsed, leased[, carried for a
-- ref with rollover] }, or false when it has no limit. The limit is record-adapter.ts's limitOf: base,
-- plus what rollover carries (kept in the totals once the period is opened), plus the active grants.
-- `limits`: { key, grants_key, overrides, grants } (whether overrides and grants exist).
local function current_totals(prefix, ref, limits, now)
  local base = base_limit(limits.key, limits.overrides, ref)
  if not base then return false end
  local cur = redis.call('HMGET', key_totals(prefix, ref[1], ref[2]), 'u', 'r', 'd', 'du', 'l', 'c')
  local limit = base
  local rollover = rollover_of(ref)
  local carried = 0
  if rollover then
    if cur[1] then
      carried = tonumber(cur[6]) or 0
    else
      carried = carried_in(tonumber(rollover[1]), base, previous_used(prefix, ref, rollover, stored_used))
    end
    limit = limit + carried
  end
  if limits.grants then
    local list = grants_of(limits.grants_key, ref[1])
    if list then limit = limit + active_grants(list, now) end
  end
  local used = tonumber(cur[1]) or 0
  local day_used = 0
  if cur[3] == ref[3] then day_used = tonumber(cur[4]) or 0 end
  local t = { limit, limit, used, used, tonumber(cur[2]) or 0, day_used, '', 0, tonumber(cur[5]) or 0 }
  if rollover then t[10] = carried end
  return t
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
local function append_fact(feed_key, now, event_retention, ref, used_before, used, limit_before, limit, prev_period, prev_used, note, prev_limit)
  local parts = {
    '{"at":', int(now), ',"name":', cjson.encode(ref[1]), ',"rule":', cjson.encode(ref[7]), ',"period":', cjson.encode(ref[2]),
    ',"usedBefore":', int(used_before), ',"used":', int(used), ',"limitBefore":', int(limit_before), ',"limit":', int(limit),
  }
  if prev_period then
    local with_limit = ''
    if prev_limit and prev_limit >= 0 then with_limit = ',"limit":' .. int(prev_limit) end
    parts[#parts + 1] = ',"previous":{"period":' .. cjson.encode(prev_period) .. ',"used":' .. int(prev_used) .. with_limit .. '}'
  end
  if note and note.forecast then
    parts[#parts + 1] = ',"forecast":{"at":' .. int(note.forecast) .. '}'
  elseif note then
    parts[#parts + 1] = ',"overage":{"reservationId":' .. cjson.encode(note[1]) .. ',"reserved":' .. int(note[2]) .. ',"actual":' .. int(note[3]) .. '}'
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


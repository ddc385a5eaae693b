-- batch: group commit. Applies a batch of charges (spend / reserve) and settles (commit / release) in
-- order, each all or nothing with its own result, exactly as if each had been its own script call; or
-- nothing at all once the server's clock has passed the batch's deadline (the client has given up on it).
-- Each budget record and each limit override is read once per batch and kept in Lua tables while the
-- operations apply; each touched record is written once at the end, with only the fields that changed.
-- KEYS: 1 limits hash, 2 holds zset, 3 session hash, 4 leases zset, 5 feed stream
-- ARGV: 1 prefix, 2 batch attempt, 3 deadline (server ms), 4 session ttl ms (0: no refresh),
--       5 retention ms, 6 history retention ms, 7 refs (JSON array of refs), 8 operations (JSON array),
--       9 event retention ms, 10 number of acks k, 11…10+k attempts of answered batches whose session
--       entries can go, then the
--       operations' keys (idempotency and reservation keys: binary-safe arguments, named by ARGV index)
-- An operation, tagged by kind, with its caller's now (ms: grants count by the caller's clock):
--   { 'c', reserve (0/1), id, amount, force (0/1), ttl ms, idempotency key index (0: none),
--     reservation key index (0: a spend), note for the feed (an overage { reservation id, reserved,
--     actual } of a replayed offline commit, or 'forecast': a forecast claim, with now as its `at`) or 0,
--     now, ref index… }                                                       a charge
--   { 's', commit (0/1), reservation id, amount, spend id, reservation key index, now }   a settle
--   { 'l', slice id, spent (its total so far), want, min, expire ms, ref index, now }      a lease step
-- Returns { now, 1, result… } | { now, 2, known } (late: a no-op; known 0 when the session expired, so an
-- earlier copy may have run unseen) | { now, 3 } (this very batch ran before: a resend after a lost answer).
-- Results, one per operation, in order:
--   charge: 1, [expiresAt if reserve], totals… | 3, first id, expiresAt, totals… (idempotency key seen)
--         | 0, refusedAt, missing (0/1), totals…
--   settle: 1, reserved, expired (0/1), refs JSON, totals… | 5 (unknown) | 6 (released before)
--         | 7, spend id, actual, reserved, expired | 2 (cancelled before it arrived: a no-op)
--   lease: slice granted, totals (one ref), leased | 0, 0 (the ref has no limit)
--   totals per ref: 0 (no limit) | 1, limit, limitBefore, used, usedBefore, reserved, dayUsed
--         | 2, the same six, previousPeriod, previousUsed, previousLimit (-1: none); then, for a ref with rollover, carried
-- The batch's session entry (claimed at the start) holds one code per operation for lua/cancel.lua:
-- '0' recorded nothing, '1' recorded on every ref it names (that has a limit), 'm' .. mask for a spend
-- that skipped refs without a limit. A cancel leaves '!' .. attempt instead: that batch arriving later is a no-op.
local prefix, batch, deadline = ARGV[1], ARGV[2], tonumber(ARGV[3])
local retention, history_retention = tonumber(ARGV[5]), tonumber(ARGV[6])
local limits_key, holds_key, session, leases_key, feed_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local event_retention = tonumber(ARGV[9])
local now = server_now()

local acks = tonumber(ARGV[10])
if acks > 0 then redis.call('HDEL', session, unpack(ARGV, 11, 10 + acks)) end
-- Late: a no-op. Its answer also tells whether an earlier copy ran, unless the session has expired.
if now > deadline then
  local entry = redis.call('HGET', session, batch)
  if entry == '!' .. batch then return { now, 2, 1 } end
  if entry then return { now, 3 } end
  return { now, 2, redis.call('HEXISTS', session, '#') }
end
-- Only a batch in time keeps the session alive: a late one must not bring back a session that expired,
-- or a cancel would take the entries it lost for batches that never ran.
if ARGV[4] ~= '0' then
  redis.call('HSET', session, '#', '1')
  redis.call('PEXPIRE', session, ARGV[4])
end
local ops = cjson.decode(ARGV[8])
-- Claimed as if every operation records (the usual case), corrected at the end when one did not.
local hoped = string.rep('1,', #ops)
if redis.call('HSETNX', session, batch, hoped) == 0 then
  if redis.call('HGET', session, batch) == '!' .. batch then return { now, 2, 1 } end
  return { now, 3 }
end

local refs = cjson.decode(ARGV[7])
local purged = purge(prefix, holds_key, now, retention, 64)
-- Before any record is read into the batch's tables: the charges write the records directly.
purge_leases(prefix, leases_key, now, retention, feed_key, event_retention)
local purged_all = purged < 64

-- Usually there is no override and no grant at all: one EXISTS then answers for every ref, settles'
-- refs included.
local grants_key, grants_due_key = key_grants(prefix), key_grants_due(prefix)
local has_overrides, has_grants = runtime_limits(limits_key, grants_key)

-- Run-time limit overrides by name (false: none), read once per batch.
local overrides = {}
local function load_overrides(list)
  local names = {}
  for _, ref in ipairs(list) do
    for i = 9, keys_end(ref) do
      local name = ref[i]
      if overrides[name] == nil then
        overrides[name] = false
        names[#names + 1] = name
      end
    end
  end
  if #names > 0 then
    local values = redis.call('HMGET', limits_key, unpack(names))
    for i, name in ipairs(names) do
      if values[i] then overrides[name] = tonumber(values[i]) end
    end
  end
end

-- A ref's base limit: the first override present, else its configured limit (nil: none).
local function base_of(ref)
  if has_overrides then
    for i = 9, keys_end(ref) do
      local v = overrides[ref[i]]
      if v == nil then
        load_overrides({ ref })
        v = overrides[ref[i]]
      end
      if v then return v end
    end
  end
  if ref[4] == false then return nil end
  return tonumber(ref[4])
end

if has_overrides then load_overrides(refs) end

-- Each instance's grants (its list, or false), read once per batch after the expired ones are forgotten:
-- by the earliest now of the batch's operations, so that none of them loses a grant it still counts.
local grant_lists = {}
if has_grants then
  local earliest = math.huge
  for _, op in ipairs(ops) do
    local t = op[10]
    if op[1] == 's' then t = op[7] elseif op[1] == 'l' then t = op[8] end
    if t < earliest then earliest = t end
  end
  forget_grants(grants_key, grants_due_key, earliest, 16)
  local names = {}
  for _, ref in ipairs(refs) do
    if grant_lists[ref[1]] == nil then
      grant_lists[ref[1]] = false
      names[#names + 1] = ref[1]
    end
  end
  if #names > 0 then
    for i, raw in ipairs(redis.call('HMGET', grants_key, unpack(names))) do
      if raw then grant_lists[names[i]] = cjson.decode(raw) end
    end
  end
end

local function granted(name, now)
  local list = grant_lists[name]
  if list == nil then
    list = grants_of(grants_key, name) or false
    grant_lists[name] = list
  end
  if not list then return 0 end
  return active_grants(list, now)
end

-- The batch's view of the budget records: read on first use, written back once (flush).
local records = {}
local function record_at(key)
  local rec = records[key]
  if rec then return rec end
  local cur = redis.call('HMGET', key, 'u', 'r', 'd', 'du', 's', 'sl', 'l', 'su', 'c')
  local u, r, d, du, sl = tonumber(cur[1]) or 0, tonumber(cur[2]) or 0, cur[3] or '', tonumber(cur[4]) or 0, tonumber(cur[6])
  local l = tonumber(cur[7]) or 0
  rec = { u = u, r = r, d = d, du = du, sl = sl, l = l, su = tonumber(cur[8]), c = tonumber(cur[9]), u0 = u, r0 = r, d0 = d, du0 = du,
    sl0 = sl, l0 = l, exists = cur[1] ~= false, created = cur[5] ~= false }
  records[key] = rec
  return rec
end

local ref_bases, ref_rollovers, ref_keys, ref_records = {}, {}, {}, {}
local any_rollover = false
for i, ref in ipairs(refs) do
  ref_bases[i] = base_of(ref) or false
  local rollover = rollover_of(ref) or false
  ref_rollovers[i] = rollover
  any_rollover = any_rollover or rollover ~= false
  ref_keys[i] = key_totals(prefix, ref[1], ref[2])
end
-- Without grants and rollover (the usual case) every ref's limit is its base, the same for every
-- operation of the batch: nothing is computed per operation.
local plain = not has_grants and not any_rollover
-- The record of the ref at index i of the refs table.
local function record_of(i)
  local rec = ref_records[i]
  if not rec then
    rec = record_at(ref_keys[i])
    ref_records[i] = rec
  end
  return rec
end

-- A totals record's used as this batch sees it, nil when there is none.
local function used_if_any(key)
  local rec = records[key]
  if rec then
    if rec.exists then return rec.u end
    return nil
  end
  return stored_used(key)
end

-- What rollover carries into a ref's period (record-adapter.ts's carriedOf): what its totals keep once
-- opened, else what the opening step will keep (from the previous period as this batch has it).
local function carried_of(ref, rollover, rec, base)
  if rec.created then return rec.c or 0 end
  return carried_in(tonumber(rollover[1]), base, previous_used(prefix, ref, rollover, used_if_any))
end

-- A ref's effective limit at its operation's now (record-adapter.ts's limitOf): base, plus what rollover
-- carries, plus the active grants; nil: none.
local function limit_of(ref, base, rollover, rec, now)
  if not base then return nil end
  local limit = base
  if rollover then limit = limit + carried_of(ref, rollover, rec, base) end
  if has_grants then limit = limit + granted(ref[1], now) end
  return limit
end

-- The effective limit of the ref at index i of the refs table (false: none).
local function limit_at(i, now)
  local base = ref_bases[i]
  if not base then return false end
  return limit_of(refs[i], base, ref_rollovers[i], record_of(i), now)
end

-- Frees every remaining due hold (a refusal must never come from an expired hold), through the records
-- this batch holds in its tables.
local function purge_rest()
  purged_all = true
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', holds_key, '-inf', now)) do
    local rkey = key_reservation(prefix, id)
    local r = redis.call('HMGET', rkey, 'a', 'refs', 's')
    if r[3] == 'held' then
      for _, ref in ipairs(cjson.decode(r[2])) do
        local tkey = key_totals(prefix, ref[1], ref[2])
        local rec = records[tkey]
        if rec then
          if rec.exists then rec.r = rec.r - tonumber(r[1]) end
        elseif redis.call('EXISTS', tkey) == 1 then
          redis.call('HINCRBY', tkey, 'r', int(-tonumber(r[1])))
        end
      end
      redis.call('HSET', rkey, 's', 'expired')
      redis.call('PEXPIRE', rkey, int(retention))
    end
  end
  redis.call('ZREMRANGEBYSCORE', holds_key, '-inf', now)
end

-- The reply, appended at k (inline: a function call per value costs more than the value).
local out = { now, 1 }
local k = 2

-- The current totals of the ref at index i of the refs table, whose limit is `limit`.
local function put_current(i, limit)
  if not limit then
    k = k + 1
    out[k] = 0
    return
  end
  local rec = record_of(i)
  local du = 0
  if rec.d == refs[i][3] then du = rec.du end
  out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5], out[k + 6], out[k + 7] = 1, limit, limit, rec.u, rec.u, rec.r, du
  k = k + 7
  local rollover = ref_rollovers[i]
  if rollover then
    k = k + 1
    out[k] = carried_of(refs[i], rollover, rec, ref_bases[i])
  end
end

local function used_of(key)
  local rec = records[key]
  if rec then return rec.u end
  return tonumber(redis.call('HGET', key, 'u')) or 0
end

-- The limit a record's level was last derived from (-1: none): the level a period ended at is judged by it.
local function seen_limit_of(key)
  local rec = records[key]
  if rec then return rec.sl or -1 end
  return tonumber(redis.call('HGET', key, 'sl')) or -1
end

-- Where the next crossing up from `u` can be: the lowest mark not yet passed (give or take the tolerance of
-- may_cause_events), less that tolerance. A step that stays below it crosses nothing.
local function next_mark(ref, limit, u)
  local tolerance = 1 + limit * 1e-12
  local best = math.huge
  for _, f in ipairs(ref[8][1]) do
    local p = f * limit
    if p + tolerance > u and p < best then best = p end
  end
  for _, p in ipairs(ref[8][2]) do
    if p + tolerance > u and p < best then best = p end
  end
  return best - tolerance
end

-- Adds used and reserved to one record and keeps the day sub-total (record-adapter.ts's add). The first
-- write to a period record moves the instance's last-period pointer and reports the period change.
-- When the step may have caused events (or has a note: an overage, a forecast claim), it appends a fact
-- to the feed. `rollover` is the ref's (false: none), which the caller knows already.
local function add(ref, rollover, rec, limit, used, reserved, note)
  local u, d, du = rec.u, rec.d, rec.du
  if used > 0 then
    if d == ref[3] then
      du = du + used
    elseif ref[3] > d then
      d = ref[3]
      du = used
    end
  end
  local seen = rec.sl or limit
  local prev_period, prev_used, prev_limit = nil, 0, -1
  if not rec.created then
    -- The step that opens a period fixes what rollover carries into it, before the period is the latest.
    if rollover then rec.c = carried_of(ref, rollover, rec, base_of(ref) or 0) end
    rec.created, rec.new, rec.exists = true, true, true
    rec.forget = forget_at(ref, history_retention)
    local instance_key = key_latest_period(prefix, ref[1])
    local last = redis.call('GET', instance_key)
    if not last or ref[2] > last then
      if last then
        prev_period = last
        local prev_key = key_totals(prefix, ref[1], last)
        prev_used, prev_limit = used_of(prev_key), seen_limit_of(prev_key)
      end
      if rec.forget > 0 then
        redis.call('SET', instance_key, ref[2], 'PXAT', int(rec.forget))
      else
        redis.call('SET', instance_key, ref[2])
      end
      list_instance(prefix, ref, rec.forget, now)
    end
  end
  rec.u, rec.r, rec.d, rec.du, rec.sl = u + used, rec.r + reserved, d, du, limit
  local day_used = 0
  if d == ref[3] then day_used = du end
  -- A slice charged at expiry left the used the level was last derived from: this step reports the crossing.
  local before = u
  if rec.su then
    before = rec.su
    rec.su, rec.su_cleared = nil, true
  end
  out[k + 2], out[k + 3], out[k + 4], out[k + 5], out[k + 6], out[k + 7] = limit, seen, u + used, before, rec.r, day_used
  -- The fact starts from used before this step: a charged slice's crossing went into the feed when it was charged.
  if ref[8] then
    local crossing = note or prev_period or seen ~= limit
    if not crossing and used > 0 then
      -- may_cause_events for a move up, with the lowest mark not yet passed kept per record in the batch.
      if rec.nm_limit ~= limit then
        rec.nm, rec.nm_limit = next_mark(ref, limit, u), limit
      end
      crossing = u + used >= rec.nm
    end
    if crossing then
      append_fact(feed_key, now, event_retention, ref, u, u + used, seen, limit, prev_period, prev_used, note, prev_limit)
      rec.nm_limit = nil
    end
  end
  if prev_period then
    out[k + 1], out[k + 8], out[k + 9], out[k + 10] = 2, prev_period, prev_used, prev_limit
    k = k + 10
  else
    out[k + 1] = 1
    k = k + 7
  end
  if rollover then
    k = k + 1
    out[k] = rec.c or 0
  end
end

-- Idempotency keys seen or written in this batch: key name -> 'id|expiresAt' or false.
local memos = {}
local new_holds, settled = {}, {}
local codes = {}
local changed = false

-- The limits of an operation's refs at its now, by ref index: the bases themselves when plain, else
-- computed into one table that each operation reuses.
local op_limits = {}
local function limits_of(op, now)
  if plain then return ref_bases end
  for j = 11, #op do op_limits[op[j]] = limit_at(op[j], now) end
  return op_limits
end

-- The first ref that refuses (0-based index, missing 0/1), or nil.
local function refusal(op, amount, limits)
  for j = 11, #op do
    local i = op[j]
    if refs[i][5] == '1' then
      local limit = limits[i]
      if not limit then return j - 11, 1 end
      local rec = record_of(i)
      if rec.u + rec.r + amount > limit then return j - 11, 0 end
    end
  end
  return nil
end

local function charge(op)
  local reserve, id, amount, ik = op[2] == 1, op[3], op[4], op[7]
  local limits = limits_of(op, op[10])
  if ik > 0 then
    local key = ARGV[ik]
    local seen = memos[key]
    if seen == nil then
      seen = redis.call('GET', key)
      memos[key] = seen
    end
    if seen then
      local sep = string.find(seen, '|', 1, true)
      out[k + 1], out[k + 2], out[k + 3] = 3, string.sub(seen, 1, sep - 1), tonumber(string.sub(seen, sep + 1)) or 0
      k = k + 3
      for j = 11, #op do put_current(op[j], limits[op[j]]) end
      return '0'
    end
  end
  if op[5] ~= 1 then
    local at, missing = refusal(op, amount, limits)
    -- A refusal is never caused by an expired hold: the bounded purge above may have left some due.
    if at and missing == 0 and not purged_all and #redis.call('ZRANGEBYSCORE', holds_key, '-inf', now, 'LIMIT', 0, 1) > 0 then
      purge_rest()
      at, missing = refusal(op, amount, limits)
    end
    if at then
      out[k + 1], out[k + 2], out[k + 3] = 0, at, missing
      k = k + 3
      for j = 11, #op do put_current(op[j], limits[op[j]]) end
      return '0'
    end
  end
  local used, held = amount, 0
  if reserve then used, held = 0, amount end
  k = k + 1
  out[k] = 1
  local expires_at = 0
  if reserve then
    expires_at = now + op[6]
    k = k + 1
    out[k] = expires_at
  end
  local skipped = false
  local note = nil
  if op[9] == 'forecast' then
    note = { forecast = op[10] }
  elseif op[5] == 1 and type(op[9]) == 'table' then
    note = op[9]
  end
  for j = 11, #op do
    local i = op[j]
    local limit = limits[i]
    if limit then
      add(refs[i], ref_rollovers[i], record_of(i), limit, used, held, note)
    else
      k = k + 1
      out[k] = 0
      skipped = true
    end
  end
  local mask, kept = nil, {}
  if skipped or reserve then
    mask = {}
    for j = 11, #op do
      if limits[op[j]] then
        kept[#kept + 1] = refs[op[j]]
        mask[#mask + 1] = '1'
      else
        mask[#mask + 1] = '0'
      end
    end
  end
  if reserve then
    -- No time to live while held: the purge that frees the hold needs the record (it sets one then).
    redis.call('HSET', ARGV[op[8]], 'a', int(amount), 'refs', cjson.encode(kept), 'x', int(expires_at), 's', 'held')
    new_holds[#new_holds + 1] = int(expires_at)
    new_holds[#new_holds + 1] = id
  end
  -- A reservation's key lives as long as the reservation can still be settled, and then the retention.
  if ik > 0 then
    local memo = id .. '|' .. int(expires_at)
    memos[ARGV[ik]] = memo
    redis.call('SET', ARGV[ik], memo, 'PX', int(retention + op[6]))
  end
  -- A spend's cancel subtracts from the refs it added to: named when some had no limit.
  if skipped and not reserve then return 'm' .. table.concat(mask) end
  return '1'
end

-- A lease step for one slice (record-adapter.ts's lease): the slice held under its id is given back, what
-- its holder spent beyond what was recorded for the id is recorded, and a new slice is granted out of
-- what is free. Idempotent: sent again, it records nothing twice.
local function lease(op)
  local id, spent, want, min, expire, i = op[2], op[3], op[4], op[5], op[6], op[7]
  local ref = refs[i]
  local limit = ref_bases[i]
  if not plain then limit = limit_at(i, op[8]) end
  if not limit then
    out[k + 1], out[k + 2] = 0, 0
    k = k + 2
    return '0'
  end
  local lkey = key_lease(prefix, id)
  local held = redis.call('HMGET', lkey, 'a', 'rc')
  local given, recorded = tonumber(held[1]) or 0, tonumber(held[2]) or 0
  local used = math.max(0, spent - recorded)
  local rec = record_of(i)
  local slice = 0
  if ref[5] == '1' then slice = grant_for(want, min, limit - (rec.u + used) - (rec.r - given)) end
  rec.l = rec.l + slice - given
  k = k + 1
  out[k] = slice
  add(ref, ref_rollovers[i], rec, limit, used, slice - given)
  k = k + 1
  out[k] = rec.l
  local expires_at = now + expire
  redis.call('HSET', lkey, 'a', int(slice), 'rc', int(math.max(recorded, spent)), 'ref', cjson.encode(ref), 'x', int(expires_at))
  if slice > 0 then
    redis.call('PERSIST', lkey)
    redis.call('ZADD', leases_key, int(expires_at), id)
  else
    -- Kept as long as a step sent again could still arrive (the retention).
    redis.call('PEXPIRE', lkey, int(retention))
    if given > 0 then redis.call('ZREM', leases_key, id) end
  end
  return '0'
end

local function settle(op)
  local commit, id, amount, spend_id, rkey = op[2] == 1, op[3], op[4], op[5], ARGV[op[6]]
  local r = redis.call('HMGET', rkey, 'a', 'refs', 's', 'sid', 'act', 'exp', 'cx')
  local status = nil
  if r[7] == batch then
    status = 2
  elseif not r[3] then
    status = 5
  elseif r[3] == 'released' then
    status = 6
  elseif r[3] == 'committed' then
    out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5] = 7, r[4], tonumber(r[5]), tonumber(r[1]), tonumber(r[6])
    k = k + 5
    return '0'
  end
  if status then
    k = k + 1
    out[k] = status
    return '0'
  end
  local reserved = tonumber(r[1])
  local expired = r[3] == 'expired'
  local used, held = 0, -reserved
  if commit then used = amount end
  if expired then held = 0 end
  local e = 0
  if expired then e = 1 end
  out[k + 1], out[k + 2], out[k + 3], out[k + 4] = 1, reserved, e, r[2]
  k = k + 4
  local overage = nil
  if commit and amount > reserved then overage = { id, reserved, amount } end
  for _, ref in ipairs(cjson.decode(r[2])) do
    local rec = record_at(key_totals(prefix, ref[1], ref[2]))
    local rollover = rollover_of(ref)
    add(ref, rollover or false, rec, limit_of(ref, base_of(ref), rollover, rec, op[7]) or 0, used, held, overage)
  end
  -- 'by' names the batch that settled, so that a cancel undoes exactly this step.
  if commit then
    redis.call('HSET', rkey, 's', 'committed', 'sid', spend_id, 'act', int(amount), 'exp', e, 'by', batch)
  else
    redis.call('HSET', rkey, 's', 'released', 'exp', e, 'by', batch)
  end
  redis.call('PEXPIRE', rkey, int(retention))
  settled[#settled + 1] = id
  return '1'
end

for i, op in ipairs(ops) do
  local code
  local kind = op[1]
  if kind == 'c' then
    code = charge(op)
  elseif kind == 's' then
    code = settle(op)
  else
    code = lease(op)
  end
  codes[i] = code
  if code ~= '1' then changed = true end
end

-- Each touched record written once, with the fields that changed.
for key, rec in pairs(records) do
  if rec.new then
    redis.call('HSET', key, 'u', int(rec.u), 'r', int(rec.r), 'd', rec.d, 'du', int(rec.du), 's', '1', 'sl', int(rec.sl), 'l', int(rec.l))
    if rec.c then redis.call('HSET', key, 'c', int(rec.c)) end
    if rec.forget > 0 then redis.call('PEXPIREAT', key, int(rec.forget)) end
  elseif rec.exists then
    if rec.su_cleared then redis.call('HDEL', key, 'su') end
    local f = {}
    if rec.u ~= rec.u0 then f[#f + 1] = 'u'; f[#f + 1] = int(rec.u) end
    if rec.r ~= rec.r0 then f[#f + 1] = 'r'; f[#f + 1] = int(rec.r) end
    if rec.d ~= rec.d0 then f[#f + 1] = 'd'; f[#f + 1] = rec.d end
    if rec.du ~= rec.du0 then f[#f + 1] = 'du'; f[#f + 1] = int(rec.du) end
    if rec.sl ~= rec.sl0 then f[#f + 1] = 'sl'; f[#f + 1] = int(rec.sl) end
    if rec.l ~= rec.l0 then f[#f + 1] = 'l'; f[#f + 1] = int(rec.l) end
    if #f > 0 then redis.call('HSET', key, unpack(f)) end
  end
end
if #new_holds > 0 then redis.call('ZADD', holds_key, unpack(new_holds)) end
if #settled > 0 then redis.call('ZREM', holds_key, unpack(settled)) end
if changed then redis.call('HSET', session, batch, table.concat(codes, ',') .. ',') end
return out

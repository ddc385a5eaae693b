-- charge: one atomic spend or reserve on every matching budget instance, all or nothing; or nothing at
-- all when the server's clock has passed the call's deadline (the client has given up on it by then).
-- KEYS: 1 limits hash, 2 holds zset, 3 session hash, 4 idempotency key (or the session again), 5 reservation key
-- ARGV: 1 prefix, 2 kind, 3 id, 4 amount, 5 force (0/1), 6 ttl ms, 7 retention ms, 8 has idempotency key (0/1),
--       9 history retention ms, 10 refs, 11 attempt, 12 deadline (server ms), 13 session ttl ms (0: no refresh),
--       14… ids of answered calls whose session entries can go
-- Returns { now, 1, id, replayed, expiresAt, entry, totals… } | { now, 0, refusedAt, missing, totals… } | { now, 2, known } (late;
-- known: 0 when the session expired, so an earlier copy of the call may have run unseen);
-- totals per ref: 0 (no limit) or 1, limit, used, usedBefore, reserved, dayUsed, previousPeriod, previousUsed.
local prefix, kind, id = ARGV[1], ARGV[2], ARGV[3]
local amount, force, ttl, retention = tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
local keyed, history_retention = ARGV[8] == '1', tonumber(ARGV[9])
local refs = decode_refs(10)
local session, attempt, deadline = KEYS[3], ARGV[11], tonumber(ARGV[12])
local reserve = kind == 'reserve'
local now = server_now()

local function current(refs_)
  local totals = {}
  local has_overrides = redis.call('EXISTS', KEYS[1]) == 1
  for i, ref in ipairs(refs_) do
    local limit = effective_limit(KEYS[1], has_overrides, ref)
    if limit then totals[i] = read_totals(prefix, ref, limit) else totals[i] = false end
  end
  return totals
end

-- The answer to this very call sent again after it ran (the client resent it after reconnecting).
local function ran_before()
  local expires_at = 0
  if reserve then expires_at = tonumber(redis.call('HGET', KEYS[5], 'x')) or 0 end
  return flatten({ now, 1, id, 1, expires_at, 1 }, current(refs))
end

if ARGV[14] then redis.call('HDEL', session, unpack(ARGV, 14)) end
-- Late: a no-op. Its answer also tells whether an earlier copy ran, unless the session has expired.
if now > deadline then
  if ran_by(redis.call('HGET', session, id), attempt) then return ran_before() end
  return { now, 2, redis.call('HEXISTS', session, '#') }
end
-- Only a call in time keeps the session alive: a late one must not bring back a session that expired,
-- or a cancel would take the entries it lost for calls that never ran.
if ARGV[13] ~= '0' then
  redis.call('HSET', session, '#', '1')
  redis.call('PEXPIRE', session, ARGV[13])
end

-- The call's id is claimed in this adapter's session (given back if the call is refused or replays a
-- key): it stays until the adapter has seen the answer, so that a resend runs once and a cancel can
-- tell whether the call ran. A cancel leaves '!' .. attempt: that attempt arriving later is a no-op.
local fence = nil
if redis.call('HSETNX', session, id, attempt) == 0 then
  local entry = redis.call('HGET', session, id)
  if entry == '!' .. attempt then return { now, 2, 1 } end
  if string.sub(entry, 1, 1) ~= '!' then return ran_before() end
  fence = entry -- another attempt's fence: this later attempt (a journal replay) may go ahead
  redis.call('HSET', session, id, attempt)
end
-- Gives the claim back (a refusal, a replayed key), leaving a fence where there was one.
local function give_back()
  if fence then redis.call('HSET', session, id, fence) else redis.call('HDEL', session, id) end
end

if keyed then
  local seen = redis.call('GET', KEYS[4])
  if seen then
    give_back()
    local sep = string.find(seen, '|', 1, true)
    return flatten({ now, 1, string.sub(seen, 1, sep - 1), 1, tonumber(string.sub(seen, sep + 1)) or 0, 0 }, current(refs))
  end
end

local purged = purge(prefix, KEYS[2], now, retention, 64)
local has_overrides = redis.call('EXISTS', KEYS[1]) == 1

-- The first instance that refuses, after the limits are looked up (limits, rows filled in), or nil.
local limits, rows = {}, {}
local function refusal()
  for i, ref in ipairs(refs) do
    local limit = effective_limit(KEYS[1], has_overrides, ref)
    limits[i] = limit or false
    if ref[5] == '1' and not force then
      if limit == nil then return i, 1 end
      local cur = fetch(prefix, ref)
      rows[i] = cur
      if (tonumber(cur[1]) or 0) + (tonumber(cur[2]) or 0) + amount > limit then return i, 0 end
    end
  end
  return nil
end

local refused_at, missing = refusal()
-- A refusal is never caused by an expired hold: the batch above may have left some due ones.
if refused_at and missing == 0 and purged == 64 and holds_due(KEYS[2], now) then
  purge(prefix, KEYS[2], now, retention, nil)
  refused_at, missing = refusal()
end
if refused_at then
  give_back()
  return flatten({ now, 0, refused_at - 1, missing }, current(refs))
end

local used, held = amount, 0
if reserve then used, held = 0, amount end
local totals = {}
local kept = {}
local mask, skipped = {}, false
for i, ref in ipairs(refs) do
  if limits[i] then
    totals[i] = add(prefix, ref, limits[i], used, held, history_retention, rows[i], now)
    kept[#kept + 1] = ref
    mask[i] = '1'
  else
    totals[i] = false
    mask[i] = '0'
    skipped = true
  end
end
-- A spend's cancel subtracts from the instances it added to: recorded when some had no limit.
if skipped and not reserve then redis.call('HSET', session, id, attempt .. '|' .. table.concat(mask)) end

local expires_at = 0
if reserve then
  expires_at = now + ttl
  -- No time to live while held: the purge that frees the hold needs the record (it sets one then).
  redis.call('HSET', KEYS[5], 'a', int(amount), 'refs', cjson.encode(kept), 'x', int(expires_at), 's', 'held')
  redis.call('ZADD', KEYS[2], int(expires_at), id)
end
-- A reservation's key lives as long as the reservation can still be settled, and then the retention.
if keyed then redis.call('SET', KEYS[4], id .. '|' .. int(expires_at), 'PX', int(retention + ttl)) end
return flatten({ now, 1, id, 0, expires_at, 1 }, totals)

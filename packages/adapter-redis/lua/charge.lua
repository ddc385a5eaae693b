-- charge: one atomic spend or reserve on every matching budget instance, all or nothing.
-- KEYS: 1 limits hash, 2 holds zset, 3 op key (this call's id), 4 idempotency key (or the op key again),
--       5 reservation key
-- ARGV: 1 prefix, 2 kind, 3 id, 4 amount, 5 force (0/1), 6 ttl ms, 7 retention ms, 8 has idempotency key (0/1),
--       9 history retention ms, 10 resend window ms, 11… refs
-- Returns { 1, id, replayed, expiresAt, totals… } or { 0, refusedAt, missing, totals… };
-- totals per ref: 0 (no limit) or 1, limit, used, usedBefore, reserved, dayUsed, previousPeriod, previousUsed.
local prefix, kind, id = ARGV[1], ARGV[2], ARGV[3]
local amount, force, ttl, retention = tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
local keyed, history_retention, resend_window = ARGV[8] == '1', tonumber(ARGV[9]), tonumber(ARGV[10])
local refs = decode_refs(11)
local now = 0
local reserve = kind == 'reserve'
local first_hold = earliest_hold(KEYS[2])
if reserve or first_hold then now = server_now() end
if first_hold and first_hold <= now then purge(prefix, KEYS[2], now, retention, 64) end
local has_overrides = redis.call('EXISTS', KEYS[1]) == 1

local function current(refs_)
  local totals = {}
  for i, ref in ipairs(refs_) do
    local limit = effective_limit(KEYS[1], has_overrides, ref)
    if limit then totals[i] = read_totals(prefix, ref, limit) else totals[i] = false end
  end
  return totals
end

-- The same call again (a resend after a lost reply, a journal replay) or a repeated idempotency key.
-- The call's id is claimed here in one command (and given back if the call is refused); it is
-- remembered only as long as a resend of this very call can arrive.
local seen = redis.call('SET', KEYS[3], id .. '|0', 'NX', 'PX', int(resend_window), 'GET')
if not seen and keyed then
  seen = redis.call('GET', KEYS[4])
  if seen then redis.call('SET', KEYS[3], seen, 'PX', int(resend_window)) end
end
if seen then
  local sep = string.find(seen, '|', 1, true)
  return flatten({ 1, string.sub(seen, 1, sep - 1), 1, tonumber(string.sub(seen, sep + 1)) or 0 }, current(refs))
end

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
if refused_at and missing == 0 and first_hold and holds_due(KEYS[2], now) then
  purge(prefix, KEYS[2], now, retention, nil)
  refused_at, missing = refusal()
end
if refused_at then
  redis.call('DEL', KEYS[3])
  return flatten({ 0, refused_at - 1, missing }, current(refs))
end

local used, held = amount, 0
if reserve then used, held = 0, amount end
local totals = {}
local kept = {}
for i, ref in ipairs(refs) do
  if limits[i] then
    totals[i] = add(prefix, ref, limits[i], used, held, history_retention, rows[i])
    kept[#kept + 1] = ref
  else
    totals[i] = false
  end
end

local expires_at = 0
if reserve then
  expires_at = now + ttl
  -- No time to live while held: the purge that frees the hold needs the record (it sets one then).
  redis.call('HSET', KEYS[5], 'a', int(amount), 'refs', cjson.encode(kept), 'x', int(expires_at), 's', 'held')
  redis.call('ZADD', KEYS[2], int(expires_at), id)
end
local memo = id .. '|' .. int(expires_at)
if reserve then redis.call('SET', KEYS[3], memo, 'PX', int(resend_window)) end
if keyed then redis.call('SET', KEYS[4], memo, 'PX', int(retention)) end
return flatten({ 1, id, 0, expires_at }, totals)

// Generated from lua/*.lua by scripts/embed-lua.mjs (run by `pnpm build`): edit the .lua files, not this one.
export const LUA_SOURCES: Readonly<Record<'charge' | 'lib' | 'limits' | 'read' | 'set-limit' | 'settle', string>> = {
  charge: `-- charge: one atomic spend or reserve on every matching budget instance, all or nothing.
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
if first_hold and first_hold <= now then purge(prefix, KEYS[2], now, retention) end
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

local limits, rows = {}, {}
for i, ref in ipairs(refs) do
  local limit = effective_limit(KEYS[1], has_overrides, ref)
  limits[i] = limit or false
  if ref[5] == '1' and not force then
    local missing = limit == nil
    local refused = missing
    if not missing then
      local cur = fetch(prefix, ref)
      rows[i] = cur
      refused = (tonumber(cur[1]) or 0) + (tonumber(cur[2]) or 0) + amount > limit
    end
    if refused then
      redis.call('DEL', KEYS[3])
      local m = 0
      if missing then m = 1 end
      return flatten({ 0, i - 1, m }, current(refs))
    end
  end
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
  redis.call('HSET', KEYS[5], 'a', int(amount), 'refs', cjson.encode(kept), 'x', int(expires_at), 's', 'held')
  redis.call('PEXPIRE', KEYS[5], int(ttl + retention))
  redis.call('ZADD', KEYS[2], int(expires_at), id)
end
local memo = id .. '|' .. int(expires_at)
if reserve then redis.call('SET', KEYS[3], memo, 'PX', int(resend_window)) end
if keyed then redis.call('SET', KEYS[4], memo, 'PX', int(retention)) end
return flatten({ 1, id, 0, expires_at }, totals)
`,
  lib: `-- Shared helpers, prepended to every script. All keys of one guard share the hash tag in \`prefix\`,
-- so every script runs in one slot, on a single node or a Redis Cluster.
-- Amounts are integer micro-units; they are written with int() because Lua 5.1 prints large
-- numbers in exponent form, which HINCRBY would refuse.

local function int(x)
  return string.format('%d', x)
end

-- Time for reservation expiry comes from the server, so many machines need no agreeing clocks.
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function totals_key(prefix, id, period)
  return prefix .. 't:' .. id .. ':' .. period
end

-- A ref, as the adapter encodes it: { id, period, day, limit (or false), hard (0/1), periodEnd, limitKeys... }
local function effective_limit(limits_key, has_overrides, ref)
  if has_overrides then
    for i = 7, #ref do
      local v = redis.call('HGET', limits_key, ref[i])
      if v then return tonumber(v) end
    end
  end
  if ref[4] == false then return nil end
  return tonumber(ref[4])
end

local function read_totals(prefix, ref, limit)
  local cur = redis.call('HMGET', totals_key(prefix, ref[1], ref[2]), 'u', 'r', 'd', 'du')
  local used = tonumber(cur[1]) or 0
  local day_used = 0
  if cur[3] == ref[3] then day_used = tonumber(cur[4]) or 0 end
  return { limit, used, used, tonumber(cur[2]) or 0, day_used, '', 0 }
end

local function fetch(prefix, ref)
  return redis.call('HMGET', totals_key(prefix, ref[1], ref[2]), 'u', 'r', 'd', 'du', 's')
end

-- Adds used and reserved to one instance-period and keeps the day sub-total. The first write to a
-- period record also sets its time to live, moves the instance's last-period pointer and reports a
-- period change (exactly one step sees it); the record then carries 's' and later writes skip that.
local function add(prefix, ref, limit, used, reserved, retention, cur)
  local key = totals_key(prefix, ref[1], ref[2])
  cur = cur or fetch(prefix, ref)
  local u = tonumber(cur[1]) or 0
  local r = tonumber(cur[2]) or 0
  local d = cur[3] or ''
  local du = tonumber(cur[4]) or 0
  if used > 0 then
    if d == ref[3] then
      du = du + used
    elseif ref[3] > d then
      d = ref[3]
      du = used
    end
  end
  local prev_period, prev_used = '', 0
  if cur[5] then
    redis.call('HSET', key, 'u', int(u + used), 'r', int(r + reserved), 'd', d, 'du', int(du))
  else
    redis.call('HSET', key, 'u', int(u + used), 'r', int(r + reserved), 'd', d, 'du', int(du), 's', '1')
    local period_end = tonumber(ref[6])
    if period_end > 0 then redis.call('PEXPIREAT', key, int(period_end + retention)) end
    local instance_key = prefix .. 'i:' .. ref[1]
    local last = redis.call('GET', instance_key)
    if not last then
      redis.call('SET', instance_key, ref[2])
      redis.call('SADD', prefix .. 'instances', ref[1])
    elseif ref[2] > last then
      prev_period = last
      prev_used = tonumber(redis.call('HGET', totals_key(prefix, ref[1], last), 'u')) or 0
      redis.call('SET', instance_key, ref[2])
    end
  end
  local day_used = 0
  if d == ref[3] then day_used = du end
  return { limit, u + used, u, r + reserved, day_used, prev_period, prev_used }
end

-- The earliest hold's expiry, or nil when nothing is held: a step with nothing held needs no clock.
local function earliest_hold(holds_key)
  local first = redis.call('ZRANGE', holds_key, 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) end
  return nil
end

-- Frees the holds of reservations whose time is up (oldest first, a bounded batch per step).
local function purge(prefix, holds_key, now, retention)
  local due = redis.call('ZRANGEBYSCORE', holds_key, '-inf', now, 'LIMIT', 0, 64)
  for _, id in ipairs(due) do
    local rkey = prefix .. 'r:' .. id
    local r = redis.call('HMGET', rkey, 'a', 'refs', 's')
    if r[3] == 'held' then
      for _, ref in ipairs(cjson.decode(r[2])) do
        redis.call('HINCRBY', totals_key(prefix, ref[1], ref[2]), 'r', int(-tonumber(r[1])))
      end
      redis.call('HSET', rkey, 's', 'expired')
      redis.call('PEXPIRE', rkey, int(retention))
    end
    redis.call('ZREM', holds_key, id)
  end
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
`,
  limits: `-- limits: the run-time limits and their version, read together.
-- KEYS: 1 limits hash, 2 limits version
return { tonumber(redis.call('GET', KEYS[2])) or 0, redis.call('HGETALL', KEYS[1]) }
`,
  read: `-- read: current totals of some instances (after freeing expired holds); creates nothing.
-- KEYS: 1 limits hash, 2 holds zset   ARGV: 1 prefix, 2 retention ms, 3… refs
local prefix, retention = ARGV[1], tonumber(ARGV[2])
purge(prefix, KEYS[2], server_now(), retention)
local has_overrides = redis.call('EXISTS', KEYS[1]) == 1
local totals = {}
for i, ref in ipairs(decode_refs(3)) do
  local limit = effective_limit(KEYS[1], has_overrides, ref)
  if limit then totals[i] = read_totals(prefix, ref, limit) else totals[i] = false end
end
return flatten({}, totals)
`,
  'set-limit': `-- set-limit: compare-and-set one run-time limit, reading some instances' totals in the same step.
-- KEYS: 1 limits hash, 2 limits version, 3 holds zset
-- ARGV: 1 prefix, 2 retention ms, 3 name, 4 limit, 5 expected version, 6… refs
-- Returns { ok, version, limitsBefore…(n, '' for none), totals… }
local prefix, retention, name, limit, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
purge(prefix, KEYS[3], server_now(), retention)
local refs = decode_refs(6)
local version = tonumber(redis.call('GET', KEYS[2])) or 0
local before = {}
for i, ref in ipairs(refs) do
  before[i] = effective_limit(KEYS[1], redis.call('EXISTS', KEYS[1]) == 1, ref) or ''
end
local ok = 0
if version == expected then
  redis.call('HSET', KEYS[1], name, int(limit))
  version = redis.call('INCR', KEYS[2])
  ok = 1
end
local out = { ok, version }
for i = 1, #refs do out[#out + 1] = before[i] end
local totals = {}
for i, ref in ipairs(refs) do
  local l = effective_limit(KEYS[1], true, ref)
  if l then totals[i] = read_totals(prefix, ref, l) else totals[i] = false end
end
return flatten(out, totals)
`,
  settle: `-- settle: commit (record the actual cost in the reservation's own period) or release a reservation.
-- KEYS: 1 reservation key, 2 limits hash, 3 holds zset
-- ARGV: 1 prefix, 2 action, 3 amount, 4 spend id, 5 retention ms, 6 history retention ms, 7 reservation id
-- Returns { 'unknown' } | { 'released_before' } | { 'committed_before', spendId, actual, reserved, expired }
--       | { 'applied', reserved, expired, refsJson, totals… }
local prefix, action, amount, spend_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local retention, history_retention = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = server_now()
purge(prefix, KEYS[3], now, retention)
local r = redis.call('HMGET', KEYS[1], 'a', 'refs', 's', 'sid', 'act', 'exp')
if not r[3] then return { 'unknown' } end
if r[3] == 'released' then return { 'released_before' } end
if r[3] == 'committed' then return { 'committed_before', r[4], tonumber(r[5]), tonumber(r[1]), tonumber(r[6]) } end
local reserved = tonumber(r[1])
local expired = r[3] == 'expired'
local commit = action == 'commit'
local has_overrides = redis.call('EXISTS', KEYS[2]) == 1
local refs = cjson.decode(r[2])
local totals = {}
local used, held = 0, -reserved
if commit then used = amount end
if expired then held = 0 end
for i, ref in ipairs(refs) do
  totals[i] = add(prefix, ref, effective_limit(KEYS[2], has_overrides, ref) or 0, used, held, history_retention)
end
local e = 0
if expired then e = 1 end
if commit then
  redis.call('HSET', KEYS[1], 's', 'committed', 'sid', spend_id, 'act', int(amount), 'exp', e)
else
  redis.call('HSET', KEYS[1], 's', 'released')
end
redis.call('ZREM', KEYS[3], ARGV[7])
redis.call('PEXPIRE', KEYS[1], int(retention))
return flatten({ 'applied', reserved, e, r[2] }, totals)
`,
};

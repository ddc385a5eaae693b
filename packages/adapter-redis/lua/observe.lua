-- observe: current totals of some instances, recording each existing one's current limit as the one its
-- level was derived from (the previous one comes back as limitBefore). Creates nothing.
-- KEYS: 1 limits hash, 2 holds zset, 3 leases zset, 4 feed stream
-- ARGV: 1 prefix, 2 retention ms, 3 refs, 4 event retention ms, 5 the caller's now (ms: grants count by it)
-- A slice charged at expiry left the used its level was derived from in 'su': reported here as usedBefore.
-- Returns { now, totals… }
local prefix, retention = ARGV[1], tonumber(ARGV[2])
local now = server_now()
purge(prefix, KEYS[2], now, retention, nil)
purge_leases(prefix, KEYS[3], now, retention, KEYS[4], tonumber(ARGV[4]))
local limits = { key = KEYS[1], grants_key = key_grants(prefix) }
limits.overrides, limits.grants = runtime_limits(limits.key, limits.grants_key)
local caller_now = tonumber(ARGV[5])
local totals = {}
for i, ref in ipairs(decode_refs(3)) do
  local t = current_totals(prefix, ref, limits, caller_now)
  if t then
    local limit = t[1]
    local key = key_totals(prefix, ref[1], ref[2])
    local seen = redis.call('HMGET', key, 'sl', 'su')
    if seen[1] and tonumber(seen[1]) ~= limit then
      t[2] = tonumber(seen[1])
      redis.call('HSET', key, 'sl', int(limit))
    end
    if seen[2] then
      t[4] = tonumber(seen[2])
      redis.call('HDEL', key, 'su')
    end
    -- A limit change seen here first (or a charged slice's crossing) goes into the feed from this step.
    if (seen[1] or seen[2]) and may_cause_events(ref, t[4], t[3], t[2], limit, nil) then
      append_fact(KEYS[4], now, tonumber(ARGV[4]), ref, t[4], t[3], t[2], limit, nil, 0, nil)
    end
  end
  totals[i] = t
end
return flatten({ now }, totals)

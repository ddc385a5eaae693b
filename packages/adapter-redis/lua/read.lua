-- read: current totals of some instances, after freeing every expired hold (so that no check counts one); creates nothing.
-- KEYS: 1 limits hash, 2 holds zset, 3 leases zset, 4 feed stream
-- ARGV: 1 prefix, 2 retention ms, 3 refs, 4 event retention ms, 5 the caller's now (ms: grants count by it)
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
  totals[i] = current_totals(prefix, ref, limits, caller_now)
end
return flatten({ now }, totals)

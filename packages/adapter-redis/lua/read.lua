-- read: current totals of some instances, after freeing every expired hold (so that no check counts one); creates nothing.
-- KEYS: 1 limits hash, 2 holds zset, 3 leases zset, 4 feed stream   ARGV: 1 prefix, 2 retention ms, 3 refs, 4 event retention ms
-- Returns { now, totals… }
local prefix, retention = ARGV[1], tonumber(ARGV[2])
local now = server_now()
purge(prefix, KEYS[2], now, retention, nil)
purge_leases(prefix, KEYS[3], now, retention, KEYS[4], tonumber(ARGV[4]))
local has_overrides = redis.call('EXISTS', KEYS[1]) == 1
local totals = {}
for i, ref in ipairs(decode_refs(3)) do
  local limit = effective_limit(KEYS[1], has_overrides, ref)
  if limit then totals[i] = read_totals(prefix, ref, limit) else totals[i] = false end
end
return flatten({ now }, totals)

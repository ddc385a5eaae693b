-- set-limit: compare-and-set one run-time limit, reading some instances' totals in the same step.
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

-- set-limit: compare-and-set one run-time limit.
-- KEYS: 1 limits hash, 2 limits version   ARGV: 1 name, 2 limit, 3 expected version
-- Returns { ok (0/1), version }
local version = tonumber(redis.call('GET', KEYS[2])) or 0
if version ~= tonumber(ARGV[3]) then return { 0, version } end
redis.call('HSET', KEYS[1], ARGV[1], int(tonumber(ARGV[2])))
return { 1, redis.call('INCR', KEYS[2]) }

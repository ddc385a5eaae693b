-- set-limit: compare-and-set one run-time limit; nothing once the server's clock has passed the deadline.
-- KEYS: 1 limits hash, 2 limits version   ARGV: 1 name, 2 limit, 3 expected version, 4 deadline (server ms)
-- Returns { now, ok (0/1), version } | { now, 2 } (late)
local now = server_now()
if now > tonumber(ARGV[4]) then return { now, 2 } end
local version = tonumber(redis.call('GET', KEYS[2])) or 0
if version ~= tonumber(ARGV[3]) then return { now, 0, version } end
redis.call('HSET', KEYS[1], ARGV[1], int(tonumber(ARGV[2])))
return { now, 1, redis.call('INCR', KEYS[2]) }

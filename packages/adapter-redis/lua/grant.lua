-- grant: stores one grant by compare-and-set on the limits version (which it bumps, as set-limit does);
-- nothing once the server's clock has passed the deadline. A grant whose id its instance holds already
-- answers ok and changes nothing: a resend after a lost answer. (Ids are unique, so looking among the
-- instance's own grants is enough.) The instance's expired grants are forgotten on the way.
-- KEYS: 1 limits version, 2 grants hash, 3 grants due zset
-- ARGV: 1 instance name, 2 grant ([id, amount, expiresAt, grantedAt, reason?], numbers as strings),
--       3 expected version, 4 deadline (server ms), 5 the caller's now (ms)
-- Returns { now, ok (0/1), version } | { now, 2 } (late)
local now = server_now()
if now > tonumber(ARGV[4]) then return { now, 2 } end
local name, grant = ARGV[1], cjson.decode(ARGV[2])
local version = tonumber(redis.call('GET', KEYS[1])) or 0
local list = grants_of(KEYS[2], name) or {}
for _, g in ipairs(list) do
  if g[1] == grant[1] then return { now, 1, version } end
end
if version ~= tonumber(ARGV[3]) then return { now, 0, version } end
list[#list + 1] = grant
local caller_now = tonumber(ARGV[5])
keep_grants(KEYS[2], KEYS[3], name, list, caller_now)
forget_grants(KEYS[2], KEYS[3], caller_now, 16)
return { now, 1, redis.call('INCR', KEYS[1]) }

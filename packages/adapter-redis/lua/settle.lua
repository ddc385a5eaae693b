-- settle: commit (record the actual cost in the reservation's own period) or release a reservation.
-- KEYS: 1 reservation key, 2 limits hash, 3 holds zset
-- ARGV: 1 prefix, 2 action, 3 amount, 4 spend id, 5 retention ms, 6 history retention ms, 7 reservation id
-- Returns { 'unknown' } | { 'released_before' } | { 'committed_before', spendId, actual, reserved, expired }
--       | { 'applied', reserved, expired, refsJson, totals… }
local prefix, action, amount, spend_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local retention, history_retention = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = server_now()
purge(prefix, KEYS[3], now, retention, 64)
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

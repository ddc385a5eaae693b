-- settle: commit (record the actual cost in the reservation's own period) or release a reservation;
-- or nothing at all when the server's clock has passed the call's deadline.
-- KEYS: 1 reservation key, 2 limits hash, 3 holds zset
-- ARGV: 1 prefix, 2 action, 3 amount, 4 spend id, 5 retention ms, 6 history retention ms, 7 reservation id,
--       8 attempt, 9 deadline (server ms)
-- Returns { now, 'unknown' } | { now, 'released_before' } | { now, 'committed_before', spendId, actual, reserved, expired }
--       | { now, 'applied', reserved, expired, refsJson, totals… }
--       | { now, 'late', known } (known: 0 when the record is gone, so an earlier copy may have run unseen)
-- The step that settles writes its attempt in 'by' (a cancel undoes exactly that step); a cancel that
-- found nothing to undo writes the attempt in 'cx' (that attempt arriving later is a no-op).
local prefix, action, amount, spend_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local retention, history_retention = tonumber(ARGV[5]), tonumber(ARGV[6])
local attempt, deadline = ARGV[8], tonumber(ARGV[9])
local now = server_now()

local function settled_before(r)
  if r[3] == 'released' then return { now, 'released_before' } end
  return { now, 'committed_before', r[4], tonumber(r[5]), tonumber(r[1]), tonumber(r[6]) }
end

if now > deadline then
  local r = redis.call('HMGET', KEYS[1], 'a', 'refs', 's', 'sid', 'act', 'exp', 'by')
  if r[7] == attempt then return settled_before(r) end
  return { now, 'late', r[3] and 1 or 0 }
end
purge(prefix, KEYS[3], now, retention, 64)
local r = redis.call('HMGET', KEYS[1], 'a', 'refs', 's', 'sid', 'act', 'exp', 'by', 'cx')
if r[8] == attempt then return { now, 'late', 1 } end
if not r[3] then return { now, 'unknown' } end
if r[3] == 'released' or r[3] == 'committed' then return settled_before(r) end
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
  totals[i] = add(prefix, ref, effective_limit(KEYS[2], has_overrides, ref) or 0, used, held, history_retention, nil, now)
end
local e = 0
if expired then e = 1 end
if commit then
  redis.call('HSET', KEYS[1], 's', 'committed', 'sid', spend_id, 'act', int(amount), 'exp', e, 'by', attempt)
else
  redis.call('HSET', KEYS[1], 's', 'released', 'exp', e, 'by', attempt)
end
redis.call('ZREM', KEYS[3], ARGV[7])
redis.call('PEXPIRE', KEYS[1], int(retention))
return flatten({ now, 'applied', reserved, e, r[2] }, totals)

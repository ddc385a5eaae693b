-- cancel: makes batches whose answer the adapter never saw ("in doubt") as if they had never been sent.
-- What a batch ran is undone exactly; one that did not run, and could still arrive (the server's clock is
-- not past its deadline), is fenced off so that it is a no-op when it does. Safe to run twice.
-- KEYS: 1 session hash, 2 holds zset, 3… the operations' reservation and idempotency keys
-- ARGV: 1 prefix, 2 doubts (JSON) (see below), 3 event retention ms.
-- An undone spend or commit that moves used back across a mark writes a feed fact for it (a transition
-- back down): the feed already holds the step that went up, and its readers may have read it.
-- Doubts: { b = batch attempt, dl = deadline, ops } with ops in the batch's order:
--       { t = 'c', id, a, rv, refs, rk, ik } for a charge, { t = 's', id, rk } for a settle, { t = 'l', id } for a
--       lease step or a forecast claim (left alone: a lease step sends its slice's total spend, so sent again it
--       counts once; a claim is sent again with its id and key, and its feed fact must stay the only one);
--       rk/ik: KEYS index or 0
-- Returns { now, result… } with one result per batch: 'undone' | 'absent' (it did not run and never will)
--       | 'fenced' (undone or absent, and fenced off until its deadline) | 'lost' (the session expired:
--       nothing tells whether its charges ran)
local prefix, event_retention = ARGV[1], tonumber(ARGV[3])
local session, holds = KEYS[1], KEYS[2]
local now = server_now()

-- Takes `amount` off an instance-period's used (and its day sub-total when the day is still the same).
local function unspend(ref, amount)
  local key = key_totals(prefix, ref[1], ref[2])
  local cur = redis.call('HMGET', key, 'u', 'd', 'du', 'sl')
  if not cur[1] then return end
  local du = tonumber(cur[3]) or 0
  if cur[2] == ref[3] then du = math.max(0, du - amount) end
  local u = tonumber(cur[1])
  redis.call('HSET', key, 'u', int(u - amount), 'du', int(du))
  local limit = tonumber(cur[4])
  if limit and may_cause_events(ref, u, u - amount, limit, limit, nil) then
    append_fact(key_feed(prefix), now, event_retention, ref, u, u - amount, limit, limit, nil, 0, nil)
  end
end

local function unhold(refs, amount)
  for _, ref in ipairs(refs) do
    local key = key_totals(prefix, ref[1], ref[2])
    if redis.call('EXISTS', key) == 1 then redis.call('HINCRBY', key, 'r', int(amount)) end
  end
end

local function undo_charge(d, code)
  if d.rv == 1 then
    local rkey = KEYS[d.rk]
    local r = redis.call('HMGET', rkey, 'a', 'refs', 's')
    -- Committed or released: a caller with the same idempotency key adopted it; it stands.
    if r[3] == 'committed' or r[3] == 'released' then return end
    if r[3] == 'held' then
      unhold(cjson.decode(r[2]), -tonumber(r[1]))
      redis.call('ZREM', holds, d.id)
    end
    redis.call('DEL', rkey)
  else
    local mask = string.match(code, '^m(%d+)$')
    for i, ref in ipairs(d.refs) do
      if not mask or string.sub(mask, i, i) == '1' then unspend(ref, d.a) end
    end
  end
  if d.ik > 0 then
    local memo = redis.call('GET', KEYS[d.ik])
    if memo and string.sub(memo, 1, #d.id + 1) == d.id .. '|' then redis.call('DEL', KEYS[d.ik]) end
  end
end

-- A settle is told by its reservation record ('by' names the batch that settled it), so it is undone
-- exactly even when the session has expired; before the deadline 'cx' fences it off as well.
local function cancel_settle(d, batch, dl)
  local rkey = KEYS[d.rk]
  local r = redis.call('HMGET', rkey, 's', 'by', 'a', 'refs', 'x', 'exp', 'act')
  if not r[1] then return end
  if r[2] == batch then
    local refs = cjson.decode(r[4])
    if r[1] == 'committed' then
      for _, ref in ipairs(refs) do unspend(ref, tonumber(r[7])) end
    end
    if r[6] == '1' then
      redis.call('HSET', rkey, 's', 'expired')
    else
      unhold(refs, tonumber(r[3]))
      redis.call('HSET', rkey, 's', 'held')
      redis.call('ZADD', holds, r[5], d.id)
      redis.call('PERSIST', rkey)
    end
    redis.call('HDEL', rkey, 'sid', 'act', 'exp', 'by')
  end
  if now <= dl then redis.call('HSET', rkey, 'cx', batch) end
end

-- A batch whose answer was lost: its session entry says whether it ran and, per operation, what it
-- recorded. While the batch could still arrive (the server's clock is not past its deadline) its entry
-- becomes a fence ('fenced': the adapter cancels once more after the deadline, which removes the fence).
local function cancel_batch(d)
  local entry = redis.call('HGET', session, d.b)
  local fence = '!' .. d.b
  local ran = entry and entry ~= fence
  if not entry and redis.call('HEXISTS', session, '#') == 0 then
    local charges = false
    for _, op in ipairs(d.ops) do
      if op.t == 's' then cancel_settle(op, d.b, d.dl) elseif op.t == 'c' then charges = true end
    end
    if charges then return 'lost' end
    return 'absent'
  end
  local i = 0
  local codes = {}
  if ran then
    for code in string.gmatch(entry, '([^,]*),') do codes[#codes + 1] = code end
  end
  for _, op in ipairs(d.ops) do
    i = i + 1
    if op.t == 's' then
      cancel_settle(op, d.b, d.dl)
    elseif op.t == 'c' and ran and codes[i] ~= '0' then
      undo_charge(op, codes[i])
    end
  end
  if now <= d.dl then
    redis.call('HSET', session, d.b, fence)
    return 'fenced'
  end
  redis.call('HDEL', session, d.b)
  if ran then return 'undone' end
  return 'absent'
end

local out = { now }
for _, d in ipairs(cjson.decode(ARGV[2])) do out[#out + 1] = cancel_batch(d) end
return out

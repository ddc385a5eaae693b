-- limits: the run-time limits, the grants and their version, read together.
-- KEYS: 1 limits hash, 2 limits version, 3 grants hash
-- Returns { version, overrides (name, limit…), grants (instance name, JSON list…) }
return { tonumber(redis.call('GET', KEYS[2])) or 0, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[3]) }

-- limits: the run-time limits and their version, read together.
-- KEYS: 1 limits hash, 2 limits version
return { tonumber(redis.call('GET', KEYS[2])) or 0, redis.call('HGETALL', KEYS[1]) }

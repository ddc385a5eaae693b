-- clock: opens (or keeps alive) this adapter's session and returns the server's time, for the clock offset.
-- KEYS: 1 session hash   ARGV: 1 session ttl ms
-- Returns { now }
redis.call('HSET', KEYS[1], '#', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return { server_now() }

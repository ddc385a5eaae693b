// @spendguard/adapter-redis: budgets in Redis, shared by many machines, one round trip per call.
export { type RedisAdapterOptions, redisAdapter } from './redis-adapter.js';

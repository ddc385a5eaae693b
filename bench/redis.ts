// Redis rows: spend against 3 budgets with 1, 16 and 64 calls in flight, next to a raw ioredis call
// of an equivalent 3-key Lua check-and-increment (the ceiling) and rate-limiter-flexible's
// RateLimiterRedis.consume at the same concurrency, all in one run. Then a leased guard on Redis at 1
// and 64 in flight, next to the memory adapter's spend measured in the same run (its target: half of it).
import { memoryAdapter } from '@spendguard/adapter-memory';
import { redisAdapter } from '@spendguard/adapter-redis';
import { createSpendGuard } from '@spendguard/core';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { inFlight, measure, type Row } from './harness.js';

const RAW_LUA = `
for i = 1, #KEYS do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
end
for i = 1, #KEYS do redis.call('INCRBY', KEYS[i], ARGV[1]) end
return 1`;

export async function redisRows(): Promise<Row[]> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = new Redis(url);
  const prefix = `bench-${process.pid}`;
  client.defineCommand('rawCheckAndAdd', { numberOfKeys: 3, lua: RAW_LUA });
  const raw = client as Redis & { rawCheckAndAdd(a: string, b: string, c: string, amount: number, limit: number): Promise<number> };
  const rawKeys = [`{${prefix}}:raw:a`, `{${prefix}}:raw:b`, `{${prefix}}:raw:c`] as const;
  const budgets = [
    { id: 'monthly', limit: 1e9 },
    { id: 'project', per: 'project', limit: { api: 1e9 } },
    { id: 'model', per: 'model', limit: { '*': 1e9 } },
  ];
  const guard = createSpendGuard({ store: redisAdapter({ client, prefix }), budgets });
  const leased = createSpendGuard({ store: redisAdapter({ client, prefix: `${prefix}-leased` }), budgets, lease: {} });
  const memory = createSpendGuard({ store: memoryAdapter(), budgets });
  const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}-rlf`, points: 1e12, duration: 0 });
  const attrs = { project: 'api', model: 'gpt-4.1' };
  const BATCH = 2000;
  const rows: Row[] = [];
  try {
    for (const concurrency of [1, 16, 64]) {
      const spend = `redis: spend, 3 budgets, ${concurrency} in flight`;
      const ceiling = `redis: raw 3-key Lua check-and-add, ${concurrency} in flight`;
      const peer = `redis: rate-limiter-flexible RateLimiterRedis.consume, ${concurrency} in flight`;
      const measured = await measure(
        'redis',
        [
          {
            name: spend,
            batch: BATCH,
            fn: () => inFlight(BATCH, concurrency, () => guard.spend(attrs, 0.000001)),
          },
          {
            name: ceiling,
            batch: BATCH,
            fn: () => inFlight(BATCH, concurrency, () => raw.rawCheckAndAdd(rawKeys[0], rawKeys[1], rawKeys[2], 1, 1e15)),
          },
          {
            name: peer,
            batch: BATCH,
            fn: () => inFlight(BATCH, concurrency, () => limiter.consume('k', 1)),
          },
        ],
        3000,
      );
      for (const row of measured) if (row.name === spend) Object.assign(row, { ceiling, peer });
      rows.push(...measured);
    }
    const reference = 'redis leased: memory adapter spend, 3 budgets, 1 in flight (reference, same run)';
    const leasedRows = await measure(
      'redis leased',
      [
        {
          name: reference,
          batch: BATCH * 10,
          fn: () => inFlight(BATCH * 10, 1, () => memory.spend(attrs, 0.000001)),
        },
        ...[1, 64].map((concurrency) => ({
          name: `redis leased: spend with lease, 3 budgets, ${concurrency} in flight`,
          batch: BATCH * 10,
          fn: () => inFlight(BATCH * 10, concurrency, () => leased.spend(attrs, 0.000001)),
        })),
      ],
      3000,
    );
    for (const row of leasedRows) {
      if (row.name === reference) continue;
      const concurrency = row.name.endsWith('64 in flight') ? 64 : 1;
      Object.assign(row, { ceiling: reference, peer: `redis: rate-limiter-flexible RateLimiterRedis.consume, ${concurrency} in flight` });
    }
    rows.push(...leasedRows);
    await leased.close();
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 5000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await client.quit();
  }
  return rows;
}

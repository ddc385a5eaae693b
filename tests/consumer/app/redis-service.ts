// A small service bundled into one file by ../consumer.test.ts and run away from node_modules and any
// lua/ folder: it spends through the Redis adapter and prints the budget's status as one JSON line.
import { redisAdapter } from '@spendguard/adapter-redis';
import { createSpendGuard } from '@spendguard/core';
import { Redis } from 'ioredis';

const [url, prefix] = [process.argv[2], process.argv[3]];
const client = new Redis(url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const guard = createSpendGuard({ store: redisAdapter({ client, prefix: prefix ?? 'consumer' }), budgets: [{ id: 'monthly', limit: 10 }] });
const first = await guard.spend({}, 2.5);
const second = await guard.spend({}, 8);
const status = await guard.status('monthly');
process.stdout.write(
  `${JSON.stringify({ first: first.allowed, second: second.allowed, used: status.used, remaining: status.remaining })}\n`,
);
await guard.close();
await client.quit();

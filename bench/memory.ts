// Memory rows: spend against 3 budgets next to an awaited bare-Map 3-counter check-and-add and
// rate-limiter-flexible's RateLimiterMemory, all in the same run.
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard } from '@spendguard/core';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { measure, type Row } from './harness.js';

const BATCH = 1000;

export async function memoryRows(): Promise<Row[]> {
  const guard = createSpendGuard({
    store: memoryAdapter(),
    budgets: [
      { id: 'monthly', limit: 1e9 },
      { id: 'project', per: 'project', limit: { api: 1e9 } },
      { id: 'model', per: 'model', limit: { '*': 1e9 } },
    ],
  });
  const attrs = { project: 'api', model: 'gpt-4.1' };

  // The ceiling: what any correct implementation must at least do — check three counters, add to all.
  const counters = new Map<string, number>([
    ['monthly', 0],
    ['project:api', 0],
    ['model:gpt-4.1', 0],
  ]);
  const keys = ['monthly', 'project:api', 'model:gpt-4.1'];
  const limit = 1e15;
  const bareMap = async (amount: number) => {
    for (const k of keys) if ((counters.get(k) as number) + amount > limit) return false;
    for (const k of keys) counters.set(k, (counters.get(k) as number) + amount);
    return true;
  };
  const limiter = new RateLimiterMemory({ points: 1e12, duration: 0 });

  return measure('memory', [
    {
      name: 'memory: spend, 3 budgets',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await guard.spend(attrs, 0.000001);
      },
    },
    {
      name: 'memory: bare Map 3-counter check-and-add (awaited)',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await bareMap(1);
      },
    },
    {
      name: 'memory: rate-limiter-flexible RateLimiterMemory.consume (1 key)',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await limiter.consume('k', 1);
      },
    },
    {
      name: 'memory: reserve + commit, 3 budgets',
      batch: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) {
          const r = await guard.reserve(attrs, 0.000002);
          if (r.allowed) await guard.commit(r.reservationId, 0.000001);
        }
      },
    },
  ]);
}

/** Heap bytes per budget instance that had one spend and then sat idle (DESIGN target ≤ 1 KB). */
export async function memoryPerInstance(count = 100_000): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the bench with node --expose-gc (pnpm bench does)');
  const guard = createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'user-daily', per: 'user', limit: 5, period: 'day' }] });
  await guard.spend({ user: 'warm-up' }, 0.01);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) await guard.spend({ user: `u_${i}` }, 0.01);
  gc();
  const perInstance = (process.memoryUsage().heapUsed - before) / count;
  // Use the guard after measuring, so that it (and its store) is still alive when measured.
  if ((await guard.status(`user-daily:u_${count - 1}`)).used !== 0.01) throw new Error('instances were not recorded');
  return perInstance;
}

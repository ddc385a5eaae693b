// Demo budgets with some months of history, for the dashboard screenshots and the browser test.
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { type BudgetDefinition, createSpendGuard, type SpendGuard } from '@spendguard/core';

export const DEMO_BUDGETS: BudgetDefinition[] = [
  { id: 'monthly', limit: 1000, softLimit: 800 },
  { id: 'project', per: 'project', limit: { api: 500, batch: 300, search: 150 }, allocatedFrom: 'monthly' },
  { id: 'model', per: 'model', limit: { 'gpt-4.1': 400, '*': 250 } },
  { id: 'user-daily', per: 'user', limit: 5, period: 'day' },
  { id: 'experiments', where: { project: 'batch' }, limit: 60, enforce: 'soft' },
];

/** 2026-05-20 14:00 UTC: late enough in the month for pacing and forecasts to say something. */
export const DEMO_NOW = Date.UTC(2026, 4, 20, 14, 0, 0);

/** Spends into past months and this one; returns a guard on the same file at DEMO_NOW (caller closes). */
export async function seedDemo(path: string, now = DEMO_NOW, wrap: (g: SpendGuard) => SpendGuard = (g) => g): Promise<SpendGuard> {
  const past = [410, 520, 480, 640, 700, 615];
  for (let m = past.length; m >= 1; m--) {
    const at = Date.UTC(2026, 4 - m, 12, 12);
    const g = createSpendGuard({ store: sqliteAdapter({ path }), budgets: DEMO_BUDGETS, clock: () => at });
    const total = past[past.length - m] as number;
    await g.spend({ project: 'api', model: 'gpt-4.1' }, total * 0.55);
    await g.spend({ project: 'batch', model: 'o3' }, total * 0.3);
    await g.spend({ project: 'search', model: 'gpt-4.1-mini' }, total * 0.15);
    await g.close();
  }
  const guard = wrap(createSpendGuard({ store: sqliteAdapter({ path }), budgets: DEMO_BUDGETS, clock: () => now }));
  await guard.spend({ project: 'api', model: 'gpt-4.1', user: 'u_42' }, 4.2);
  await guard.spend({ project: 'api', model: 'gpt-4.1' }, 380);
  await guard.spend({ project: 'batch', model: 'o3' }, 52);
  await guard.spend({ project: 'batch', model: 'o3' }, 190);
  await guard.spend({ project: 'search', model: 'gpt-4.1-mini' }, 96);
  await guard.spend({ project: 'api', model: 'gpt-4.1', user: 'u_7' }, 1.1);
  await guard.reserve({ project: 'api', model: 'gpt-4.1', user: 'u_7' }, 0.8);
  await guard.spend({ project: 'api', model: 'gpt-4.1', user: 'u_42' }, 2); // refused: u_42 has 0.8 left today
  return guard;
}

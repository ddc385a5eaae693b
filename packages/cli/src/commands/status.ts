// `spendguard status [budget]`: every budget instance (configured ones before their first spend too),
// one instance, or every instance of a keyed rule.
import type { BudgetStatus, SpendGuard } from '@spendguard/core';
import type { LoadedConfig } from '../config.js';
import { type Context, print, printJson, withGuard } from '../context.js';
import { statusSummary, statusTable } from '../render/status-table.js';

export async function readStatuses(guard: SpendGuard, config: LoadedConfig, budget?: string): Promise<BudgetStatus[]> {
  if (budget === undefined) return guard.status();
  // A keyed rule's id names all its instances; anything else is one instance's name.
  const rule = config.options.budgets.find((b) => b.id === budget);
  if (rule?.per !== undefined) return (await guard.status()).filter((s) => s.rule === budget);
  return [await guard.status(budget)];
}

export async function statusCommand(ctx: Context, budget: string | undefined, opts: { json?: boolean }): Promise<void> {
  await withGuard(ctx, async (guard, config) => {
    const statuses = await readStatuses(guard, config, budget);
    if (opts.json) return printJson(ctx, statuses);
    if (statuses.length === 0) {
      print(ctx, budget === undefined ? 'No budgets: the config lists none.' : `No instances of ${budget} yet.`);
      return;
    }
    print(ctx, statusTable(ctx.colors, statuses));
    print(ctx);
    print(ctx, statusSummary(ctx.colors, statuses));
  });
}

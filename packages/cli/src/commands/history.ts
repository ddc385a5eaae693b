// `spendguard history <budget>`: past periods' totals, newest last, with a bar each.
import type { Context } from '../context.js';
import { print, printJson, UsageError, withGuard } from '../context.js';
import { amount } from '../render/format.js';
import { historyTable } from '../render/history-table.js';

export async function historyCommand(ctx: Context, budget: string, opts: { periods: string; json?: boolean }): Promise<void> {
  const periods = Number(opts.periods);
  if (!Number.isInteger(periods) || periods < 1)
    throw new UsageError(`--periods must be a whole number of periods, 1 or more; got ${opts.periods}.`);
  await withGuard(ctx, async (guard, config) => {
    const rule = config.options.budgets.find((b) => b.id === budget);
    if (rule?.per !== undefined) {
      throw new UsageError(`${budget} is a keyed rule: name one of its instances, e.g. ${budget}:<${[rule.per].flat().join(',')}>.`);
    }
    const [entries, current] = await Promise.all([guard.history(budget, { periods }), guard.status(budget)]);
    if (opts.json) return printJson(ctx, entries);
    const thresholds = config.options.budgets.find((b) => b.id === current.rule)?.thresholds;
    const per = current.period.key === 'all' ? 'for its lifetime' : 'per period';
    print(ctx, `${ctx.colors.bold(budget)}  limit ${amount(current.limit)} ${per}, ${amount(current.used)} used in ${current.period.key}`);
    print(ctx);
    print(ctx, historyTable(ctx.colors, entries, current, thresholds));
  });
}

// `spendguard set-limit <rule> <amount> [--key K]`: guard.setLimit, then the instances it changed.
import { fromMicros, toMicros } from '@spendguard/core';
import { type Context, print, printJson, UsageError, withGuard } from '../context.js';
import { amount as fmt } from '../render/format.js';
import { statusTable } from '../render/status-table.js';

export async function setLimitCommand(
  ctx: Context,
  rule: string,
  amountText: string,
  opts: { key?: string; json?: boolean },
): Promise<void> {
  const typed = Number(amountText);
  // Plain decimals only (no 0x10, no exponents): a limit is money.
  if (!/^\s*\d+(\.\d+)?\s*$/.test(amountText) || !Number.isFinite(typed))
    throw new UsageError(`<amount> must be a number in currency units; got ${amountText}.`);
  await withGuard(ctx, async (guard, config) => {
    const def = config.options.budgets.find((b) => b.id === rule);
    if (def === undefined) {
      const ids = config.options.budgets.map((b) => b.id).join(', ');
      throw new UsageError(`no rule ${rule} in ${config.path}; its rules are: ${ids || 'none'}.`);
    }
    if (opts.key !== undefined && def.per === undefined) throw new UsageError(`${rule} is not keyed (no per): drop --key.`);
    await guard.setLimit(rule, typed, opts.key);
    // What the store holds: the amount in whole micro-units, rounded up as every amount is.
    const amount = fromMicros(toMicros(typed));
    const touched = (await guard.status()).filter((s) => s.rule === rule && (opts.key === undefined || s.key === opts.key));
    if (opts.json) return printJson(ctx, { rule, ...(opts.key !== undefined ? { key: opts.key } : {}), limit: amount, status: touched });
    const what = opts.key !== undefined ? `${rule} for ${opts.key}` : def.per !== undefined ? `${rule} (default for unlisted keys)` : rule;
    print(ctx, `Limit of ${ctx.colors.bold(what)} set to ${ctx.colors.bold(fmt(amount))}.`);
    if (touched.length > 0) {
      print(ctx);
      print(ctx, statusTable(ctx.colors, touched));
    }
  });
}

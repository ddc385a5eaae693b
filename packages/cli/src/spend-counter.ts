// What `spendguard_spend_total` counts. A guard emits no event per admitted spend (a spend or commit
// only shows as usage and level changes), so the counter is derived from the store's totals, which
// are exact: within a period a budget's `used` only grows, so each scrape adds how much it grew
// since the last one; when a period has ended in between, the rest of it is read from history().
// Sums are kept in integer micro-units so no float error accumulates.
import type { BudgetStatus, SpendGuard } from '@spendguard/core';

interface Seen {
  rule: string;
  period: string;
  used: number; // micro-units
}

const micros = (n: number) => Math.round(n * 1e6);
/** How many past periods are read when a period has ended between two scrapes. */
const HISTORY_DEPTH = 12;

export class SpendCounter {
  private readonly seen = new Map<string, Seen>();
  private readonly sums = new Map<string, { rule: string; micros: number }>();
  private started = false;

  constructor(private readonly guard: SpendGuard) {}

  /** Feeds one scrape's statuses. The first scrape sets the baseline: the counter counts from there. */
  async observe(statuses: BudgetStatus[]): Promise<void> {
    for (const s of statuses) {
      const now: Seen = { rule: s.rule, period: s.period.key, used: micros(s.used) };
      const before = this.seen.get(s.budget);
      let added = 0;
      if (before === undefined) {
        // An instance first listed after the baseline was first used after it: all of its spend is new.
        added = this.started ? now.used : 0;
      } else if (before.period === now.period) {
        added = Math.max(0, now.used - before.used);
      } else {
        const rest = await this.restOfPeriods(s.budget, before, now.period);
        if (rest === undefined) continue; // history unreadable: try again at the next scrape
        added = rest + now.used;
      }
      this.seen.set(s.budget, now);
      const sum = this.sums.get(s.budget);
      this.sums.set(s.budget, { rule: s.rule, micros: (sum?.micros ?? 0) + added });
    }
    this.started = true;
  }

  /** Spend recorded after `before` in its period and in any whole periods between it and `current`. */
  private async restOfPeriods(budget: string, before: Seen, current: string): Promise<number | undefined> {
    let entries: { period: string; used: number }[];
    try {
      entries = await this.guard.history(budget, { periods: HISTORY_DEPTH });
    } catch {
      return undefined;
    }
    const from = entries.findIndex((e) => e.period === before.period);
    let rest = 0;
    entries.forEach((e, i) => {
      if (e.period === current || i < from) return;
      rest += i === from ? Math.max(0, micros(e.used) - before.used) : micros(e.used);
    });
    return rest;
  }

  /** Per budget instance: its rule and the spend counted, in micro-units. */
  totals(): Map<string, { rule: string; micros: number }> {
    return this.sums;
  }
}

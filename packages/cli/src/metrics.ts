// registerMetrics: a guard's budgets as Prometheus metrics in a prom-client registry, read when scraped.
import { type BudgetStatus, LEVELS, type SpendGuard } from '@spendguard/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SpendCounter } from './spend-counter.js';

export interface MetricsOptions {
  registry: Registry;
  /** Prepended to every metric name. Default 'spendguard_'. */
  prefix?: string;
}

export interface RegisteredMetrics {
  /** Stops counting refusals and removes the metrics from the registry. */
  unregister(): void;
}

/**
 * One `guard.status()` per scrape: prom-client starts every metric's collect() before awaiting any,
 * so the gauges and the counter share the read in flight, and `SpendCounter` sees each read once.
 */
class ScrapeReader {
  private inFlight: Promise<BudgetStatus[] | undefined> | undefined;
  ok = true;

  constructor(
    private readonly guard: SpendGuard,
    private readonly counter: SpendCounter,
  ) {}

  read(): Promise<BudgetStatus[] | undefined> {
    this.inFlight ??= this.readOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async readOnce(): Promise<BudgetStatus[] | undefined> {
    try {
      const statuses = await this.guard.status();
      await this.counter.observe(statuses);
      this.ok = true;
      return statuses;
    } catch {
      // A store outage must not fail the host's whole /metrics: the budget series go away for this
      // scrape and spendguard_status_up says why.
      this.ok = false;
      return undefined;
    }
  }
}

/**
 * Adds to `registry`:
 * - gauges `spendguard_budget_used`, `_limit`, `_reserved`, `_leased` and `_level` (0 ok … 4 exhausted),
 *   labelled `budget` and `rule`, from `guard.status()` at each scrape;
 * - `spendguard_status_up`: 1 when that read succeeded, 0 when the store could not be read;
 * - counter `spendguard_spend_total{budget, rule}`: money recorded as used on each budget instance in
 *   the store (by any process sharing it) since the first scrape, exact to the micro-unit (see SpendCounter);
 * - counter `spendguard_denied_total{budget, reason}`: calls this guard refused (its `denied` events).
 */
export function registerMetrics(guard: SpendGuard, options: MetricsOptions): RegisteredMetrics {
  const { registry } = options;
  const prefix = options.prefix ?? 'spendguard_';
  const spend = new SpendCounter(guard);
  const reader = new ScrapeReader(guard, spend);
  const registers = [registry];
  const labelNames = ['budget', 'rule'] as const;
  const names: string[] = [];

  const gauge = (name: string, help: string, value: (s: BudgetStatus) => number) => {
    names.push(prefix + name);
    return new Gauge({
      name: prefix + name,
      help,
      labelNames,
      registers,
      async collect() {
        const statuses = await reader.read();
        this.reset();
        for (const s of statuses ?? []) this.set({ budget: s.budget, rule: s.rule }, value(s));
      },
    });
  };
  gauge('budget_used', 'Spend recorded in the current period (currency units).', (s) => s.used);
  gauge('budget_limit', 'The limit of the current period (currency units).', (s) => s.limit);
  gauge('budget_reserved', 'Held by open reservations (currency units).', (s) => s.reserved);
  gauge('budget_leased', 'Held as leased slices by guards with lease (currency units).', (s) => s.leased);
  gauge('budget_level', 'The level: 0 ok, 1 info, 2 warning, 3 critical, 4 exhausted.', (s) => LEVELS.indexOf(s.level));

  names.push(`${prefix}status_up`);
  new Gauge({
    name: `${prefix}status_up`,
    help: '1 when the last scrape read every budget from the store, 0 when it could not.',
    registers,
    async collect() {
      await reader.read();
      this.set(reader.ok ? 1 : 0);
    },
  });

  names.push(`${prefix}spend_total`);
  new Counter({
    name: `${prefix}spend_total`,
    help: 'Spend recorded on each budget instance in the store, by any process, since this registry first scraped it (currency units).',
    labelNames,
    registers,
    async collect() {
      await reader.read();
      this.reset();
      for (const [budget, { rule, micros }] of spend.totals()) this.inc({ budget, rule }, micros / 1e6);
    },
  });

  names.push(`${prefix}denied_total`);
  const denied = new Counter({
    name: `${prefix}denied_total`,
    help: 'Calls this guard refused, by the budget that refused and the reason.',
    labelNames: ['budget', 'reason'] as const,
    registers,
  });
  const onDenied = (e: { budget: string; reason: string }) => denied.inc({ budget: e.budget, reason: e.reason });
  guard.on('denied', onDenied);

  return {
    unregister() {
      guard.off('denied', onDenied);
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

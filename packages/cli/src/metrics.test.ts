// registerMetrics against a real prom-client registry: names, labels and values as scraped.
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
import { Counter, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerMetrics } from './metrics.js';

const BUDGETS = [
  { id: 'monthly', limit: 10 },
  { id: 'project', per: 'project', limit: { api: 4, '*': 2 } },
];

type Sample = { labels: Record<string, string | number>; value: number };

async function scrape(registry: Registry): Promise<Map<string, { type: string; help: string; values: Sample[] }>> {
  const metrics = await registry.getMetricsAsJSON();
  return new Map(metrics.map((m) => [m.name, { type: String(m.type), help: m.help, values: m.values as Sample[] }]));
}

function value(metrics: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>): number | undefined {
  return metrics.get(name)?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('registerMetrics', () => {
  let now = Date.UTC(2026, 4, 20, 12);
  let store: ReturnType<typeof memoryAdapter>;
  let guard: SpendGuard;
  let registry: Registry;

  beforeEach(() => {
    now = Date.UTC(2026, 4, 20, 12);
    store = memoryAdapter();
    guard = createSpendGuard({ store, budgets: BUDGETS, clock: () => now });
    registry = new Registry();
  });
  afterEach(async () => {
    await guard.close().catch(() => {});
  });

  it('gauges used, limit, reserved, leased and level (0 ok … 4 exhausted), labelled budget and rule, read at scrape time', async () => {
    registerMetrics(guard, { registry });
    await guard.spend({ project: 'api' }, 3.2); // project:api 80 % → warning; monthly 32 %
    await guard.reserve({ project: 'web' }, 0.5);
    const m = await scrape(registry);
    for (const name of ['spendguard_budget_used', 'spendguard_budget_limit', 'spendguard_budget_reserved', 'spendguard_budget_level']) {
      expect(m.get(name)?.type, name).toBe('gauge');
    }
    expect(value(m, 'spendguard_budget_used', { budget: 'project:api', rule: 'project' })).toBe(3.2);
    expect(value(m, 'spendguard_budget_limit', { budget: 'project:api', rule: 'project' })).toBe(4);
    expect(value(m, 'spendguard_budget_reserved', { budget: 'project:web', rule: 'project' })).toBe(0.5);
    expect(value(m, 'spendguard_budget_leased', { budget: 'monthly', rule: 'monthly' })).toBe(0);
    expect(value(m, 'spendguard_budget_level', { budget: 'project:api', rule: 'project' })).toBe(2);
    expect(value(m, 'spendguard_budget_level', { budget: 'monthly', rule: 'monthly' })).toBe(0);
    await guard.spend({ project: 'api' }, 0.8); // exhausted
    const after = await scrape(registry);
    expect(value(after, 'spendguard_budget_level', { budget: 'project:api', rule: 'project' })).toBe(4);
    expect(value(after, 'spendguard_budget_used', { budget: 'monthly', rule: 'monthly' })).toBe(4);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE spendguard_budget_used gauge');
    expect(text).toContain('spendguard_budget_used{budget="project:api",rule="project"} 4');
  });

  it('spendguard_spend_total counts spend recorded since the first scrape, exactly, from any guard on the store', async () => {
    await guard.spend({ project: 'api' }, 1); // before the first scrape: the baseline
    registerMetrics(guard, { registry });
    let m = await scrape(registry);
    expect(m.get('spendguard_spend_total')?.type).toBe('counter');
    expect(value(m, 'spendguard_spend_total', { budget: 'monthly', rule: 'monthly' })).toBe(0);
    for (let i = 0; i < 3; i++) await guard.spend({ project: 'api' }, 0.1);
    const other = createSpendGuard({ store, budgets: BUDGETS, clock: () => now }); // another process, same store
    await other.spend({ project: 'batch' }, 0.2);
    const r = await other.reserve({ project: 'batch' }, 0.5);
    if (r.allowed) await other.commit(r.reservationId, 0.45);
    m = await scrape(registry);
    expect(value(m, 'spendguard_spend_total', { budget: 'monthly', rule: 'monthly' })).toBe(0.95); // 0.3 + 0.2 + 0.45, no float drift
    expect(value(m, 'spendguard_spend_total', { budget: 'project:api', rule: 'project' })).toBe(0.3);
    // An instance first used after the baseline: all of its spend is new.
    expect(value(m, 'spendguard_spend_total', { budget: 'project:batch', rule: 'project' })).toBe(0.65);
    // A period ends between two scrapes: the rest of May and June's spend both count.
    await guard.spend({}, 0.25);
    now = Date.UTC(2026, 5, 2, 12);
    await guard.spend({}, 2);
    m = await scrape(registry);
    expect(value(m, 'spendguard_spend_total', { budget: 'monthly', rule: 'monthly' })).toBe(3.2);
    expect(value(m, 'spendguard_budget_used', { budget: 'monthly', rule: 'monthly' })).toBe(2);
    await other.close();
  });

  it('spendguard_denied_total counts refusals by budget and reason', async () => {
    registerMetrics(guard, { registry });
    await guard.spend({ project: 'api' }, 5); // over project:api's 4
    await guard.spend({ project: 'api' }, 5);
    await guard.spend({}, 11); // over monthly
    const m = await scrape(registry);
    expect(m.get('spendguard_denied_total')?.type).toBe('counter');
    expect(value(m, 'spendguard_denied_total', { budget: 'project:api', reason: 'limit_exceeded' })).toBe(2);
    expect(value(m, 'spendguard_denied_total', { budget: 'monthly', reason: 'limit_exceeded' })).toBe(1);
  });

  it("a store that cannot be read sets spendguard_status_up 0 and leaves the host's other metrics scrapeable", async () => {
    const host = new Counter({ name: 'host_requests_total', help: 'the host service', registers: [registry] });
    host.inc();
    registerMetrics(guard, { registry });
    await guard.spend({}, 1);
    expect(value(await scrape(registry), 'spendguard_status_up', {})).toBe(1);
    await guard.close(); // every read now throws
    const m = await scrape(registry);
    expect(value(m, 'spendguard_status_up', {})).toBe(0);
    expect(m.get('spendguard_budget_used')?.values).toEqual([]);
    expect(value(m, 'host_requests_total', {})).toBe(1);
  });

  it('one guard.status() per scrape, however many metrics read it', async () => {
    registerMetrics(guard, { registry });
    let reads = 0;
    const status = guard.status.bind(guard);
    guard.status = ((...args: []) => {
      reads++;
      return status(...args);
    }) as typeof guard.status;
    await registry.metrics();
    expect(reads).toBe(1);
  });

  it('unregister removes the metrics and stops counting refusals', async () => {
    const metrics = registerMetrics(guard, { registry });
    metrics.unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
    expect(guard.listenerCount('denied')).toBe(0);
    // and the names are free again
    registerMetrics(guard, { registry, prefix: 'spendguard_' });
    expect(registry.getSingleMetric('spendguard_budget_used')).toBeDefined();
  });
});

// The demo's budgets, shared by the demo, the alert webhook worker and the CLI's example config.
import type { BudgetDefinition } from '@spendguard/core';

export const DEMO_BUDGETS: BudgetDefinition[] = [
  { id: 'monthly', limit: 1000, softLimit: 800, rollover: { max: 200 } },
  { id: 'project', per: 'project', limit: { api: 500, batch: 300 }, allocatedFrom: 'monthly' },
  { id: 'model', per: 'model', limit: { 'gpt-4.1': 200, '*': 100 } },
  { id: 'user-daily', per: 'user', limit: 5, period: 'day', timezone: 'Europe/Berlin' },
  { id: 'experiments', where: { project: 'batch' }, limit: 50, enforce: 'soft' },
  // A cap being tried out: counted and checked, never refusing; what it would refuse is reported.
  { id: 'o3-cap-trial', where: { model: 'o3' }, limit: 60, enforce: 'shadow' },
];

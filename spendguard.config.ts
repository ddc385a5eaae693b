// The spendguard command's config for this repository: the demo's store and budgets, so that after
// `pnpm demo` the commands read what it spent: `pnpm spendguard status`, `pnpm spendguard serve`.
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { DEMO_BUDGETS } from './examples/demo-budgets.js';

export default { store: () => sqliteAdapter({ path: '.spendguard/demo.db' }), budgets: DEMO_BUDGETS };

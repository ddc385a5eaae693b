// @spendguard/adapter-sqlite: budgets in one SQLite file, shared by the processes of one machine.
export type { UsageQuery, UsageRow } from './ledger.js';
export { SCHEMA_VERSION } from './schema.js';
export { type SqliteAdapter, type SqliteAdapterOptions, sqliteAdapter } from './sqlite-adapter.js';

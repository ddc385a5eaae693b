// @spendguard/adapter-postgres: budgets in PostgreSQL, shared by every process and machine on the database.
export { SCHEMA_VERSION } from './migrate.js';
export { type PostgresAdapterOptions, postgresAdapter } from './postgres-adapter.js';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConformanceSuite } from '@spendguard/core/testing';
import { afterAll } from 'vitest';
import { sqliteAdapter } from './sqlite-adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'spendguard-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rows that grow with use: every table but the run-time limits, the meta and the schema version. */
const GROWING = [
  'spendguard_totals',
  'spendguard_instances',
  'spendguard_reservations',
  'spendguard_idempotency',
  'spendguard_ledger',
  'spendguard_grants',
];

runConformanceSuite('sqliteAdapter (file)', {
  create: (options) => sqliteAdapter({ path: join(dir, `conformance-${n++}.db`), ...options }),
  // A second connection to the same file, as another process would open it.
  connect: (adapter) => sqliteAdapter({ path: (adapter as ReturnType<typeof sqliteAdapter>).database.name }),
  numRuns: 25,
  footprint(adapter) {
    const db = (adapter as ReturnType<typeof sqliteAdapter>).database;
    return GROWING.reduce((sum, table) => sum + (db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number), 0);
  },
  scale: { keys: 20_000, instances: 20_000 },
});

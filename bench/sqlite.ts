// SQLite rows: spend against 3 budgets on a WAL file, 1, 16 and 64 calls in flight (group commit
// shares a transaction among the calls of one tick), next to a raw better-sqlite3 transaction that
// reads and updates 3 rows (the ceiling); then 1 and 2 processes spending on one file for 7 s.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { createSpendGuard } from '@spendguard/core';
import Database from 'better-sqlite3';
import { inFlight, measure, type Row } from './harness.js';

const run = promisify(execFile);
const BATCH = 200;
/** Calls per iteration with many in flight: several full groups each. */
const CONCURRENT_BATCH = 2048;
/** Calls each bench process keeps in flight in the grouped 7 s runs. */
const PROCESS_IN_FLIGHT = 16;

export interface FairnessReport {
  seconds: number;
  /** Calls each process kept in flight. */
  inFlight: number;
  oneProcess: number;
  twoProcesses: number;
  shares: number[];
  slowestMs: number;
  errors: number;
}

const BUDGETS = [
  { id: 'monthly', limit: 1e9 },
  { id: 'project', per: 'project', limit: { api: 1e9 } },
  { id: 'model', per: 'model', limit: { '*': 1e9 } },
];

export async function sqliteRows(): Promise<{ rows: Row[]; fairness: FairnessReport[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'spendguard-bench-'));
  try {
    const guard = createSpendGuard({ store: sqliteAdapter({ path: join(dir, 'guard.db') }), budgets: BUDGETS });
    const ungrouped = createSpendGuard({
      store: sqliteAdapter({ path: join(dir, 'ungrouped.db'), maxCallsPerTransaction: 1 }),
      budgets: BUDGETS,
    });
    const attrs = { project: 'api', model: 'gpt-4.1' };

    // The ceiling: one IMMEDIATE transaction that reads 3 counters, checks them and adds to all.
    const raw = new Database(join(dir, 'raw.db'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.exec('CREATE TABLE c (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID');
    raw.exec("INSERT INTO c VALUES ('monthly', 0), ('project:api', 0), ('model:gpt-4.1', 0)");
    const get = raw.prepare('SELECT v FROM c WHERE k = ?').pluck();
    const set = raw.prepare('UPDATE c SET v = v + ? WHERE k = ?');
    const keys = ['monthly', 'project:api', 'model:gpt-4.1'];
    const rawStep = raw.transaction((amount: number) => {
      for (const k of keys) if ((get.get(k) as number) + amount > 1e15) return false;
      for (const k of keys) set.run(amount, k);
      return true;
    });

    const rows = await measure('sqlite', [
      {
        name: 'sqlite: spend, 3 budgets (file, WAL, NORMAL), 1 in flight',
        batch: BATCH,
        fn: async () => {
          for (let i = 0; i < BATCH; i++) await guard.spend(attrs, 0.000001);
        },
      },
      ...[16, 64].map((n) => ({
        name: `sqlite: spend, 3 budgets (file, WAL, NORMAL), ${n} in flight`,
        batch: CONCURRENT_BATCH,
        fn: () => inFlight(CONCURRENT_BATCH, n, () => guard.spend(attrs, 0.000001)),
      })),
      {
        name: 'sqlite: spend, 64 in flight, group commit off (a transaction per call)',
        batch: CONCURRENT_BATCH,
        fn: () => inFlight(CONCURRENT_BATCH, 64, () => ungrouped.spend(attrs, 0.000001)),
      },
      {
        name: 'sqlite: raw better-sqlite3 3-row check-and-add transaction',
        batch: BATCH,
        fn: async () => {
          for (let i = 0; i < BATCH; i++) await rawStep.immediate(1);
        },
      },
    ]);
    raw.close();
    await guard.close();
    await ungrouped.close();

    const seconds = 7;
    const together = async (n: number, callsInFlight: number) => {
      const path = join(dir, `shared-${n}-${callsInFlight}.db`);
      sqliteAdapter({ path }).close();
      const startAt = Date.now() + 1500;
      return Promise.all(
        Array.from({ length: n }, async () => {
          const { stdout } = await run(process.execPath, [
            '--import',
            'tsx',
            'bench/sqlite-worker.ts',
            path,
            String(seconds * 1000),
            String(startAt),
            String(callsInFlight),
          ]);
          return JSON.parse(stdout) as { ops: number; errors: number; slowest: number };
        }),
      );
    };
    const fairness: FairnessReport[] = [];
    for (const callsInFlight of [1, PROCESS_IN_FLIGHT]) {
      const one = await together(1, callsInFlight);
      const two = await together(2, callsInFlight);
      const total = two.reduce((s, r) => s + r.ops, 0);
      const report: FairnessReport = {
        seconds,
        inFlight: callsInFlight,
        oneProcess: (one[0]?.ops ?? 0) / seconds,
        twoProcesses: total / seconds,
        shares: two.map((r) => r.ops / total),
        slowestMs: Math.max(...two.map((r) => r.slowest)),
        errors: two.reduce((s, r) => s + r.errors, 0),
      };
      fairness.push(report);
      rows.push(
        { group: 'sqlite', name: `sqlite: spend, 1 process for 7 s, ${callsInFlight} in flight`, opsPerSec: report.oneProcess },
        {
          group: 'sqlite',
          name: `sqlite: spend, 2 processes together for 7 s, ${callsInFlight} in flight each`,
          opsPerSec: report.twoProcesses,
        },
      );
    }
    return { rows, fairness };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

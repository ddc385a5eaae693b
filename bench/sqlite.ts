// SQLite rows: spend against 3 budgets on a WAL file next to a raw better-sqlite3 transaction that
// reads and updates 3 rows (the ceiling), then 1 and 2 processes spending on one file for 7 s.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { createSpendGuard } from '@spendguard/core';
import Database from 'better-sqlite3';
import { measure, type Row } from './harness.js';

const run = promisify(execFile);
const BATCH = 200;

export interface FairnessReport {
  seconds: number;
  oneProcess: number;
  twoProcesses: number;
  shares: number[];
  slowestMs: number;
  errors: number;
}

export async function sqliteRows(): Promise<{ rows: Row[]; fairness: FairnessReport }> {
  const dir = mkdtempSync(join(tmpdir(), 'spendguard-bench-'));
  try {
    const guard = createSpendGuard({
      store: sqliteAdapter({ path: join(dir, 'guard.db') }),
      budgets: [
        { id: 'monthly', limit: 1e9 },
        { id: 'project', per: 'project', limit: { api: 1e9 } },
        { id: 'model', per: 'model', limit: { '*': 1e9 } },
      ],
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
        name: 'sqlite: spend, 3 budgets (file, WAL, NORMAL)',
        batch: BATCH,
        fn: async () => {
          for (let i = 0; i < BATCH; i++) await guard.spend(attrs, 0.000001);
        },
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

    const seconds = 7;
    const together = async (n: number) => {
      const path = join(dir, `shared-${n}.db`);
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
          ]);
          return JSON.parse(stdout) as { ops: number; errors: number; slowest: number };
        }),
      );
    };
    const one = await together(1);
    const two = await together(2);
    const total = two.reduce((s, r) => s + r.ops, 0);
    const fairness: FairnessReport = {
      seconds,
      oneProcess: (one[0]?.ops ?? 0) / seconds,
      twoProcesses: total / seconds,
      shares: two.map((r) => r.ops / total),
      slowestMs: Math.max(...two.map((r) => r.slowest)),
      errors: two.reduce((s, r) => s + r.errors, 0),
    };
    rows.push(
      { group: 'sqlite', name: 'sqlite: spend, 1 process for 7 s', opsPerSec: fairness.oneProcess },
      { group: 'sqlite', name: 'sqlite: spend, 2 processes together for 7 s', opsPerSec: fairness.twoProcesses },
    );
    return { rows, fairness };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

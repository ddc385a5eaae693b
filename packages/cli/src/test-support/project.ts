// A throwaway project for running the real `spendguard` executable: a temp folder with a config file
// (.ts or .mjs) on a SQLite file, and this package's node_modules linked in so the config's imports
// resolve the way they do in a user's project.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { type BudgetDefinition, createSpendGuard, type SpendGuard } from '@spendguard/core';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const modules = fileURLToPath(new URL('../../node_modules', import.meta.url));

export const TEST_BUDGETS: BudgetDefinition[] = [
  { id: 'monthly', limit: 100, softLimit: 80 },
  { id: 'project', per: 'project', limit: { api: 50, batch: 30 } },
  { id: 'user', per: 'user', limit: { '*': 100 }, period: 'day' },
];

export interface Project {
  dir: string;
  db: string;
  config: string;
  /** A guard on the project's store, in this process (the caller closes it). */
  guard(clock?: () => number): SpendGuard;
  run(args: string[], env?: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts a long-running command (serve, events --follow); resolves once stdout matches `ready`. */
  start(args: string[], ready: RegExp, env?: Record<string, string | undefined>): Promise<Running>;
  remove(): void;
}

export interface Running {
  output: () => string;
  match: RegExpMatchArray;
  stop(): Promise<number | null>;
}

export function configSource(kind: 'ts' | 'mjs', budgets: BudgetDefinition[] = TEST_BUDGETS): string {
  const body = `{ store: () => sqliteAdapter({ path: './spend.db' }), budgets: ${JSON.stringify(budgets)} }`;
  return kind === 'ts'
    ? `import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import type { SpendGuardConfig } from '@spendguard/cli';
// Type annotations prove the file is compiled, not merely imported.
const config: SpendGuardConfig = ${body};
export default config;
`
    : `import { sqliteAdapter } from '@spendguard/adapter-sqlite';
export default ${body};
`;
}

/** Colour decisions come from the flags a test passes, never from the environment it runs in. */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'SPENDGUARD_TOKEN']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function makeProject(kind: 'ts' | 'mjs', budgets: BudgetDefinition[] = TEST_BUDGETS): Project {
  const dir = mkdtempSync(join(tmpdir(), `spendguard-cli-${kind}-`));
  symlinkSync(modules, join(dir, 'node_modules'), 'dir');
  const config = join(dir, `spendguard.config.${kind}`);
  writeFileSync(config, configSource(kind, budgets));
  const db = join(dir, 'spend.db');
  return {
    dir,
    db,
    config,
    guard: (clock) => createSpendGuard({ store: sqliteAdapter({ path: db }), budgets, ...(clock ? { clock } : {}) }),
    run: (args, env = {}) =>
      new Promise((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd: dir, env: childEnv(env), timeout: 30_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      }),
    start: (args, ready, env = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        child.stderr.on('data', (d: Buffer) => {
          err += d;
        });
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          const match = out.match(ready);
          if (match) {
            resolve({
              output: () => out,
              match,
              stop: () => {
                child.kill('SIGTERM');
                return exited;
              },
            });
          }
        });
        exited.then((code) => reject(new Error(`spendguard ${args.join(' ')} exited (${code}) before it was ready:\n${out}${err}`)));
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs a command line's output through `grep`-like line lookup: the line that starts with `name`. */
export function row(output: string, name: string): string {
  return output.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
}

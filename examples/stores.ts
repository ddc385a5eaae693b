// Which store the examples run on: `--store memory|sqlite|redis|postgres` (default: the embedded default).
import { mkdirSync } from 'node:fs';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { postgresAdapter } from '@spendguard/adapter-postgres';
import { redisAdapter } from '@spendguard/adapter-redis';
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import type { StorageAdapter } from '@spendguard/core';
import { Redis } from 'ioredis';
import pg from 'pg';

export type StoreName = 'memory' | 'sqlite' | 'redis' | 'postgres';

const STORES: readonly StoreName[] = ['memory', 'sqlite', 'redis', 'postgres'];

export function storeArg(argv: string[], fallback: StoreName): StoreName {
  const i = argv.indexOf('--store');
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--store='))?.slice('--store='.length);
  if (value === undefined) return fallback;
  if (!(STORES as readonly string[]).includes(value)) throw new Error(`--store must be memory, sqlite, redis or postgres; got ${value}`);
  return value as StoreName;
}

/** The database URL without its password, for printing. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export async function openStore(name: StoreName): Promise<{ store: StorageAdapter; where: string }> {
  switch (name) {
    case 'memory':
      return { store: memoryAdapter(), where: 'this process (memory)' };
    case 'sqlite': {
      mkdirSync('.spendguard', { recursive: true });
      const path = '.spendguard/demo.db';
      return { store: sqliteAdapter({ path, ledger: true }), where: `SQLite file ${path} (run again: the month continues)` };
    }
    case 'redis': {
      const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
      const client = new Redis(url);
      const store = redisAdapter({ client, prefix: 'spendguard-demo' });
      // The demo owns this client: close it with the store.
      return { store: { ...store, close: () => void client.quit() }, where: `Redis at ${url} (prefix spendguard-demo)` };
    }
    case 'postgres': {
      const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
      const schema = process.env.SPENDGUARD_DEMO_SCHEMA ?? 'spendguard_demo';
      const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5000 });
      pool.on('error', () => {}); // an idle connection the server dropped; calls report their own failures
      const store = postgresAdapter({ pool, schema });
      // The demo owns this pool: end it once the adapter has finished its calls (the guard closes the store).
      const close = async () => {
        try {
          await store.close();
        } finally {
          await pool.end();
        }
      };
      return {
        store: { ...store, close },
        where: `PostgreSQL at ${shown(url)}, schema ${schema} (created on first use; run again: the month continues)`,
      };
    }
  }
}

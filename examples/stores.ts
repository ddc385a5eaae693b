// Which store the examples run on: `--store memory|sqlite|redis` (default: the embedded default).
import { mkdirSync } from 'node:fs';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { redisAdapter } from '@spendguard/adapter-redis';
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import type { StorageAdapter } from '@spendguard/core';
import { Redis } from 'ioredis';

export type StoreName = 'memory' | 'sqlite' | 'redis';

export function storeArg(argv: string[], fallback: StoreName): StoreName {
  const i = argv.indexOf('--store');
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--store='))?.slice('--store='.length);
  if (value === undefined) return fallback;
  if (value !== 'memory' && value !== 'sqlite' && value !== 'redis')
    throw new Error(`--store must be memory, sqlite or redis; got ${value}`);
  return value;
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
  }
}

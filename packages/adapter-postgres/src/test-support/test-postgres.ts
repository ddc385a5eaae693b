// Test support: the PostgreSQL the tests talk to. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
// where none answers, the machine's own cluster is started if pg_ctlcluster is there. A missing server is
// a failure, never a skip. Every adapter a test makes gets a fresh schema, dropped at the end.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { StorageAdapter } from '@spendguard/core';
import pg from 'pg';
import { quoteIdentifier } from '../migrate.js';
import { postgresAdapter } from '../postgres-adapter.js';

export const RUN_ID = `sgt_${process.pid}_${Date.now().toString(36)}`;

export const testDatabaseUrl = (): string => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

let up: Promise<string> | undefined;

/** The database URL for tests, once a server answers there. */
export function testPostgres(): Promise<string> {
  up ??= (async () => {
    const url = testDatabaseUrl();
    if (await answers(url)) return url;
    if (process.env.DATABASE_URL === undefined) {
      let versions: string[] = [];
      try {
        versions = readdirSync('/etc/postgresql');
      } catch {}
      for (const version of versions)
        spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
      for (let i = 0; i < 50 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 200));
      if (await answers(url)) return url;
    }
    throw new Error(`no PostgreSQL answers at ${url}; start one or set DATABASE_URL (the Postgres tests need a server).`);
  })();
  return up;
}

export const newPool = async (max = 4): Promise<pg.Pool> => {
  const pool = new pg.Pool({ connectionString: await testPostgres(), max, idleTimeoutMillis: 1000 });
  pool.on('error', () => {}); // an idle client cut by a test is the point
  return pool;
};

/** Pools and schemas a test file made: ended and dropped at the end. */
export class SchemaPool {
  private pools: pg.Pool[] = [];
  private schemas = new Set<string>();
  private n = 0;
  readonly schemaOf = new WeakMap<StorageAdapter, string>();

  newSchema(tag = 'conf'): string {
    const schema = `${RUN_ID}_${tag}_${this.n++}`;
    this.schemas.add(schema);
    return schema;
  }

  async pool(max = 4): Promise<pg.Pool> {
    const pool = await newPool(max);
    this.pools.push(pool);
    return pool;
  }

  /**
   * An adapter on its own pool and `schema` (a fresh one by default). Its pool outlives close(), as a
   * service's does; idle connections go after a second, and cleanup() ends them all.
   */
  async adapter(schema = this.newSchema(), options: { historyRetentionMs?: number } = {}): Promise<StorageAdapter> {
    const pool = await this.pool();
    const adapter = postgresAdapter({ pool, schema, ...options });
    this.schemaOf.set(adapter, schema);
    return adapter;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.end().catch(() => {})));
    const admin = await newPool(1);
    for (const schema of this.schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await admin.end();
  }
}

// The schema: a version table and forward migrations, applied once per database under an advisory lock.
// A migration (sql/migrations/*.sql) holds only what must happen once and in order: tables, backfills,
// and the DROP of a function whose arguments or result type change (CREATE OR REPLACE cannot change
// them). The functions are written once each, as they are now (sql/functions/*.sql, CREATE OR REPLACE),
// and applied after the migrations, in the same transaction, whenever the schema moved: a new schema
// runs every migration and then the functions; an older one its pending migrations and then the same
// functions. So a function changes in its own file, as a diff; a change to a function alone still moves
// SCHEMA_VERSION (a migration with no file), or schemas already at the version would keep the old one.
import { SpendGuardError } from '@spendguard/core';
import type { Pool } from 'pg';
import { SQL_SOURCES } from './sql-sources.generated.js';

type SqlFile = keyof typeof SQL_SOURCES;
type Migration = Extract<SqlFile, `migrations/${string}`>;

/** Each entry moves the schema from version i to i + 1. Never edit a released one: append. */
const MIGRATIONS: readonly (readonly Migration[])[] = [
  ['migrations/001-tables'],
  // 2: rollover and grants (totals.carried, grants), and the functions whose arguments changed dropped.
  ['migrations/002-rollover-and-grants'],
  // 3: a forecast claim's fact is marked `forecast` (fact_for): the functions only.
  [],
];

/**
 * The current functions, applied after any migration, in this order (a LANGUAGE sql function's body is
 * checked when created, so what one calls comes first; PL/pgSQL bodies are checked when first run).
 */
const FUNCTIONS: readonly Extract<SqlFile, `functions/${string}`>[] = [
  'functions/limits',
  'functions/feed',
  'functions/forget',
  'functions/batch',
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A schema name as a quoted identifier: any name is safe, quotes included. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A number unique to the schema for its advisory locks: `lockKey` feed appends, `+ 1` migrations, `+ 2`
 * run-time limits (batches hold it shared, a limit write exclusive).
 */
export function lockKey(schema: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`spendguard:${schema}`)) {
    h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  }
  // A multiple of 4, so that lockKey + 1 and + 2 are other keys of the same schema.
  const key = BigInt.asIntN(64, h) & ~3n;
  // The one value whose SQL literal is not a bigint (it reads as minus a number too large for one).
  return key === -(2n ** 63n) ? key + 4n : key;
}

/** The SQL of a file for one schema. */
export function sqlFor(file: SqlFile, schema: string): string {
  // One pass with a function: the schema's name may itself hold '@lock' or '$&', which a second pass or a
  // replacement string would rewrite. Function bodies are quoted as $body$ … $body$: a tag the name does
  // not hold is chosen, or a name with '$body$' in it would end a body early.
  const quoted = quoteIdentifier(schema);
  let tag = '$body$';
  for (let n = 0; quoted.includes(tag); n++) tag = `$body${n}$`;
  const values: Record<string, string> = { '@schema': quoted, '@lock': String(lockKey(schema)), $body$: tag };
  return SQL_SOURCES[file].replace(/@schema|@lock|\$body\$/g, (placeholder) => values[placeholder] as string);
}

/** Brings the schema to SCHEMA_VERSION; refuses one written by a newer adapter. */
export async function migrate(pool: Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  const q = quoteIdentifier(schema);
  let failed: unknown;
  try {
    await client.query('BEGIN');
    // Serialises processes starting at once; the first migrates, the others then find it done.
    await client.query('SELECT pg_advisory_xact_lock($1)', [String(lockKey(schema) + 1n)]);
    // Only a new schema is created: CREATE … IF NOT EXISTS needs the right to create even when it exists,
    // and a service's role may have been given the schema without that right.
    const found = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`${q}.schema_version`]);
    const rows = found.rows[0]?.present ? (await client.query<{ version: number }>(`SELECT version FROM ${q}.schema_version`)).rows : [];
    const from = rows[0]?.version ?? 0;
    if (from === 0) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${q}.schema_version (version integer NOT NULL)`);
    }
    if (from > SCHEMA_VERSION) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `schema ${q} has spendguard schema version ${from}, newer than ${SCHEMA_VERSION} that this @spendguard/adapter-postgres knows. Upgrade the package in every process that uses the schema.`,
      );
    }
    for (let v = from; v < SCHEMA_VERSION; v++) {
      for (const file of MIGRATIONS[v] as readonly Migration[]) await client.query(sqlFor(file, schema));
    }
    if (from < SCHEMA_VERSION) for (const file of FUNCTIONS) await client.query(sqlFor(file, schema));
    if (from === 0) await client.query(`INSERT INTO ${q}.schema_version (version) VALUES ($1)`, [SCHEMA_VERSION]);
    else if (from < SCHEMA_VERSION) await client.query(`UPDATE ${q}.schema_version SET version = $1`, [SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release(failed instanceof Error && !(failed instanceof SpendGuardError) ? failed : undefined);
  }
}

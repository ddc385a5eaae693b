// Schemas written by earlier releases (version 1: the tables; version 2: rollover and grants) are brought
// to the current version by the first call of a newer adapter, keeping their rows, which the current
// adapter then reads and writes; and an upgraded schema has exactly the functions, columns, indexes and
// constraints of a new one.
//
// A released schema is built as that release built it, but for its functions' bodies: its tables by the
// migrations up to its version (released migrations are never edited), its rows inserted directly in
// its layout, and its functions declared with their signatures as released (arguments with their names,
// result type), each with a body that only raises. The upgrade replaces every function, so no released
// body survives it; a signature is what an upgrade can trip on (CREATE OR REPLACE cannot change the
// result or an argument's name, and a function whose arguments changed lingers unless dropped).
import type { ChargeOutcome, InstanceRef, SettleOutcome } from '@spendguard/core/adapter';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { lockKey, migrate, quoteIdentifier, SCHEMA_VERSION, sqlFor } from './migrate.js';
import { M, monthEnd, monthRef, NOW } from './test-support/spi-pair.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const DAY = 86_400_000;
const HISTORY = 730 * DAY;

type Released = 1 | 2;

/** The migrations each release had run. */
const RELEASED_MIGRATIONS = {
  1: ['migrations/001-tables'],
  2: ['migrations/001-tables', 'migrations/002-rollover-and-grants'],
} as const;

/** The functions each release created, as pg_get_function_arguments and pg_get_function_result show them. */
const RELEASED_FUNCTIONS: Record<Released, readonly (readonly [name: string, args: string, result: string])[]> = {
  1: [
    ['batch', 'p_id text, p_ops jsonb, p_refs jsonb, p_settings jsonb', 'jsonb'],
    ['crosses_mark', 'marks jsonb, used_before bigint, used bigint, limit_before bigint, lim bigint, opens boolean', 'boolean'],
    ['fact_for', 'ref jsonb, t jsonb, at bigint, used_delta bigint, overage jsonb', 'jsonb'],
    ['forget_due', 'p_now bigint, p_max integer', 'integer'],
    ['limit_of', 'ref jsonb, overrides jsonb', 'bigint'],
    ['set_limit', 'p_name text, p_amount bigint, p_expected bigint', 'jsonb'],
    [
      'standing',
      'lim bigint, opened boolean, used bigint, reserved bigint, leased bigint, day text, day_used bigint, ref_day text',
      'jsonb',
    ],
  ],
  2: [
    ['active_grants', 'p_grants jsonb, p_now bigint', 'bigint'],
    ['batch', 'p_id text, p_ops jsonb, p_refs jsonb, p_settings jsonb', 'jsonb'],
    ['carried_in', 'p_max bigint, p_base bigint, p_previous_used bigint', 'bigint'],
    ['carried_into', 'p_ref jsonb, p_base bigint, p_prev_held boolean, p_prev_used bigint', 'bigint'],
    ['crosses_mark', 'marks jsonb, used_before bigint, used bigint, limit_before bigint, lim bigint, opens boolean', 'boolean'],
    ['fact_for', 'ref jsonb, t jsonb, at bigint, used_delta bigint, overage jsonb', 'jsonb'],
    ['forget_due', 'p_now bigint, p_max integer, p_grants_now bigint', 'integer'],
    [
      'grant_limit',
      'p_id text, p_name text, p_amount bigint, p_expires_at bigint, p_granted_at bigint, p_reason text, p_expected bigint',
      'jsonb',
    ],
    ['limit_of', 'ref jsonb, overrides jsonb', 'bigint'],
    ['set_limit', 'p_name text, p_amount bigint, p_expected bigint', 'jsonb'],
    [
      'standing',
      'lim bigint, opened boolean, used bigint, reserved bigint, leased bigint, day text, day_used bigint, ref_day text, carried bigint',
      'jsonb',
    ],
  ],
};

/** Creates `schema` as release `version` left it, with no rows but `meta`'s. */
async function releasedSchema(admin: pg.Pool, schema: string, version: Released): Promise<void> {
  const q = quoteIdentifier(schema);
  await admin.query(`CREATE SCHEMA ${q}`);
  await admin.query(`CREATE TABLE ${q}.schema_version (version integer NOT NULL)`);
  for (const file of RELEASED_MIGRATIONS[version]) await admin.query(sqlFor(file, schema));
  for (const [name, args, result] of RELEASED_FUNCTIONS[version]) {
    await admin.query(`CREATE FUNCTION ${q}.${name}(${args}) RETURNS ${result} LANGUAGE plpgsql AS $stub$
      BEGIN RAISE EXCEPTION 'the version ${version} body of ${name}, left by the upgrade'; END $stub$`);
  }
  await admin.query(`INSERT INTO ${q}.schema_version (version) VALUES ($1)`, [version]);
}

/** What defines a schema: its functions (the body by its md5), columns, indexes and constraints. */
async function shapeOf(admin: pg.Pool, schema: string) {
  const q = quoteIdentifier(schema);
  const [functions, columns, indexes, constraints] = await Promise.all([
    admin.query(
      `SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
        md5(p.prosrc) AS body, p.provolatile, l.lanname
        FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang WHERE p.pronamespace = $1::regnamespace ORDER BY 1, 2`,
      [q],
    ),
    admin.query(
      `SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, collation_name
        FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 3`,
      [schema],
    ),
    admin.query('SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2', [schema]),
    admin.query(
      `SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE connamespace = $1::regnamespace ORDER BY 1, 2`,
      [q],
    ),
  ]);
  return { functions: functions.rows, columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
}

describe('postgresAdapter schema upgrade', () => {
  for (const version of [1, 2] as const) {
    it(`a schema upgraded from version ${version} has the functions, columns, indexes and constraints of a new one`, async () => {
      const admin = await schemas.pool(1);
      // One name for both, so that the functions' text (it names the schema and its lock) is the same.
      const schema = schemas.newSchema(`shape${version}`);
      const q = quoteIdentifier(schema);
      await releasedSchema(admin, schema, version);
      const released = await shapeOf(admin, schema);
      await migrate(admin, schema);
      const upgraded = await shapeOf(admin, schema);
      await admin.query(`DROP SCHEMA ${q} CASCADE`);
      await migrate(admin, schema);
      const fresh = await shapeOf(admin, schema);

      expect(upgraded).toEqual(fresh);
      expect(released.functions).not.toEqual(fresh.functions); // every released body was replaced
      expect(fresh.functions.map((f) => f.proname)).toEqual([
        'active_grants',
        'batch',
        'bump_limits_version',
        'carried_in',
        'carried_into',
        'crosses_mark',
        'fact_for',
        'forget_due',
        'grant_limit',
        'limit_of',
        'set_limit',
        'standing',
      ]);
      expect(fresh.columns.filter((c) => c.table_name === 'totals').map((c) => c.column_name)).toContain('carried');
      expect(fresh.indexes.map((i) => i.indexname)).toContain('grants_name');
      // No body holds a placeholder: each was replaced by the schema's name, its lock or the quote tag.
      const bodies = await admin.query<{ src: string }>('SELECT prosrc AS src FROM pg_proc WHERE pronamespace = $1::regnamespace', [q]);
      for (const { src } of bodies.rows) expect(src).not.toMatch(/@schema|@lock|\$body\$/);
      expect(bodies.rows.some(({ src }) => src.includes(String(lockKey(schema))))).toBe(true);
    });
  }

  it('migrates a version 1 schema, its data kept, which the adapter then reads and writes', { timeout: 30_000 }, async () => {
    const schema = schemas.newSchema('v1');
    const q = quoteIdentifier(schema);
    const admin = await schemas.pool(1);
    await releasedSchema(admin, schema, 1);
    // What a version 1 adapter wrote (its refs had no rollover): 60 spent in 2026-11 with an idempotency
    // key, 10 held, a run-time limit set once, the spend's fact, and a batch's stored answer.
    const old = monthRef('m', 0, { rollover: null });
    const serverNow = Date.now();
    const forget = monthEnd('2026-11') + HISTORY;
    const fact = {
      at: serverNow,
      name: 'm',
      rule: 'm',
      period: '2026-11',
      usedBefore: 0,
      used: 60 * M,
      limitBefore: 100 * M,
      limit: 100 * M,
    };
    const rows: [string, unknown[]][] = [
      [
        `INSERT INTO ${q}.totals (instance, period, opened, used, reserved, leased, day, day_used, seen_limit, seen_used, forget_at)
          VALUES ('m', '2026-11', true, $1, $2, 0, '2026-11-10', $1, $3, NULL, $4)`,
        [60 * M, 10 * M, 100 * M, forget],
      ],
      [`INSERT INTO ${q}.instances (name, rule, last_period, forget_at) VALUES ('m', 'm', '2026-11', $1)`, [forget]],
      [
        `INSERT INTO ${q}.reservations (id, amount, refs, expires_at, state) VALUES ('held-1', $1, $2, $3, 'held')`,
        [10 * M, JSON.stringify([old]), serverNow + DAY],
      ],
      [`INSERT INTO ${q}.idempotency (key, call_id, expires_at, forget_at) VALUES ('k-1', 'spend-1', NULL, $1)`, [serverNow + DAY]],
      [`INSERT INTO ${q}.limits (name, amount) VALUES ('other', $1)`, [5 * M]],
      [`UPDATE ${q}.meta SET value = 1 WHERE key = 'limits_version'`, []],
      [`INSERT INTO ${q}.feed (fact, forget_at) VALUES ($1, $2)`, [JSON.stringify(fact), serverNow + 30 * DAY]],
      [`INSERT INTO ${q}.calls (id, results, forget_at) VALUES ('b-1', '[{"ok": true, "callId": "spend-1"}]', $1)`, [serverNow + DAY]],
    ];
    for (const [sql, values] of rows) await admin.query(sql, values);

    const store = await schemas.adapter(schema);
    store.configure({ retentionMs: DAY });
    const m = (k: number): InstanceRef => monthRef('m', k);
    // Opened before rollover existed: it keeps nothing carried.
    expect(await store.read([m(0)], NOW)).toMatchObject([{ limit: 100 * M, used: 60 * M, reserved: 10 * M, carried: 0 }]);
    const { rows: version } = await admin.query(`SELECT version FROM ${q}.schema_version`);
    expect(version).toEqual([{ version: SCHEMA_VERSION }]);
    expect(SCHEMA_VERSION).toBe(3);
    // The key stored by version 1 still answers with its call.
    const again = await store.charge({ kind: 'spend', callId: 'spend-9', instances: [m(0)], amount: M, idempotencyKey: 'k-1', now: NOW });
    expect(again).toMatchObject({ ok: true, callId: 'spend-1', replayed: true, totals: [{ used: 60 * M }] });

    const settled = (await store.settle({
      action: 'commit',
      reservationId: 'held-1',
      amount: 15 * M,
      spendId: 'c-1',
      now: NOW,
    })) as SettleOutcome;
    expect(settled).toMatchObject({ status: 'applied', reserved: 10 * M, totals: [{ used: 75 * M, reserved: 0 }] });
    expect(await store.read([m(1)], NOW)).toMatchObject([{ limit: 125 * M, carried: 25 * M }]);
    const spent = (await store.charge({ kind: 'spend', callId: 'spend-2', instances: [m(1)], amount: 125 * M, now: NOW })) as ChargeOutcome;
    expect(spent).toMatchObject({ ok: true, totals: [{ limit: 125 * M, carried: 25 * M, previous: { period: '2026-11', used: 75 * M } }] });

    const limits = await store.limits();
    expect(limits).toEqual({ version: 1, overrides: new Map([['other', 5 * M]]), grants: [] });
    const grant = { id: 'g-1', name: 'm', amount: 1 * M, expiresAt: NOW + DAY, grantedAt: NOW };
    expect(await store.grant?.({ grant, expectedVersion: 1, now: NOW })).toEqual({ ok: true, version: 2 });
    expect(await store.read([m(1)], NOW)).toMatchObject([{ limit: 126 * M }]);
    // The fact version 1 wrote stays, and the new ones follow it.
    const feed = (await store.feed?.({ limit: 100 })) ?? [];
    expect(feed.map((f) => [f.period, f.used / M, f.overage?.actual])).toEqual([
      ['2026-11', 60, undefined],
      ['2026-11', 75, 15 * M], // the commit above its reservation
      ['2026-12', 125, undefined],
    ]);
    expect(feed[0]).toEqual({ id: '1', ...fact });
    const { rows: calls } = await admin.query(`SELECT id FROM ${q}.calls WHERE id = 'b-1'`);
    expect(calls).toEqual([{ id: 'b-1' }]);
  });

  it('migrates a version 2 schema, its data kept, which the adapter then reads and writes', { timeout: 30_000 }, async () => {
    const schema = schemas.newSchema('v2');
    const q = quoteIdentifier(schema);
    const admin = await schemas.pool(1);
    await releasedSchema(admin, schema, 2);
    // What a version 2 adapter wrote: 80 spent in 2026-11, and 2026-12 opened with 20 carried and 30
    // spent; a grant of 5 on the instance (by the callers' clock, live until NOW + 10 days), and the
    // opening step's fact.
    const serverNow = Date.now();
    const fact = {
      at: serverNow,
      name: 'm',
      rule: 'm',
      period: '2026-12',
      usedBefore: 0,
      used: 30 * M,
      limitBefore: 125 * M,
      limit: 125 * M,
      previous: { period: '2026-11', used: 80 * M, limit: 100 * M },
    };
    const rows: [string, unknown[]][] = [
      [
        `INSERT INTO ${q}.totals (instance, period, opened, used, reserved, leased, day, day_used, seen_limit, seen_used, carried, forget_at)
          VALUES ('m', '2026-11', true, $1, 0, 0, '2026-11-10', $1, $2, NULL, 0, $3),
                 ('m', '2026-12', true, $4, 0, 0, '2026-12-10', $4, $5, NULL, $6, $7)`,
        [80 * M, 100 * M, monthEnd('2026-11') + HISTORY, 30 * M, 125 * M, 20 * M, monthEnd('2026-12') + HISTORY],
      ],
      [`INSERT INTO ${q}.instances (name, rule, last_period, forget_at) VALUES ('m', 'm', '2026-12', $1)`, [monthEnd('2026-12') + HISTORY]],
      [
        `INSERT INTO ${q}.grants (id, name, amount, expires_at, granted_at, reason) VALUES ('g-1', 'm', $1, $2, $3, 'launch')`,
        [5 * M, NOW + 10 * DAY, NOW - DAY],
      ],
      [`UPDATE ${q}.meta SET value = 1 WHERE key = 'limits_version'`, []],
      [`INSERT INTO ${q}.feed (fact, forget_at) VALUES ($1, $2)`, [JSON.stringify(fact), serverNow + 30 * DAY]],
    ];
    for (const [sql, values] of rows) await admin.query(sql, values);

    const store = await schemas.adapter(schema);
    store.configure({ retentionMs: DAY });
    const m = (k: number): InstanceRef => monthRef('m', k);
    expect(await store.read([m(1)], NOW)).toMatchObject([{ limit: 125 * M, used: 30 * M, carried: 20 * M }]);
    const { rows: version } = await admin.query(`SELECT version FROM ${q}.schema_version`);
    expect(version).toEqual([{ version: SCHEMA_VERSION }]);
    expect(await store.limits()).toEqual({
      version: 1,
      overrides: new Map(),
      grants: [{ id: 'g-1', name: 'm', amount: 5 * M, expiresAt: NOW + 10 * DAY, grantedAt: NOW - DAY, reason: 'launch' }],
    });

    // Schema 3: a forecast claim's fact carries the claim.
    const claim = await store.charge({
      kind: 'reserve',
      callId: 'fc-1',
      instances: [m(1)],
      amount: 0,
      ttlMs: DAY,
      idempotencyKey: 'spendguard:forecast:m:2026-12',
      forecast: true,
      now: NOW,
    });
    expect(claim).toMatchObject({ ok: true, callId: 'fc-1', replayed: false });
    const spent = (await store.charge({ kind: 'spend', callId: 'spend-1', instances: [m(1)], amount: 95 * M, now: NOW })) as ChargeOutcome;
    expect(spent).toMatchObject({ ok: true, totals: [{ used: 125 * M, limit: 125 * M, carried: 20 * M }] });
    const refused = await store.charge({ kind: 'spend', callId: 'spend-2', instances: [m(1)], amount: 1, now: NOW });
    expect(refused).toMatchObject({ ok: false, reason: 'limit_exceeded' });
    // After the grant: the base and what was carried.
    expect(await store.read([m(1)], NOW + 11 * DAY)).toMatchObject([{ limit: 120 * M, used: 125 * M }]);

    const feed = (await store.feed?.({ limit: 100 })) ?? [];
    expect(feed[0]).toEqual({ id: '1', ...fact });
    expect(feed.slice(1).map((f) => [f.period, f.used / M, f.forecast])).toEqual([
      ['2026-12', 30, { at: NOW }],
      ['2026-12', 125, undefined],
    ]);
  });
});

// A schema written by the previous release (version 1: 001–003) is brought to the current version by the
// first call of a newer adapter, keeping its totals, reservations, limits and feed; what was opened
// before carried nothing, and the next period carries from it.
import { randomUUID } from 'node:crypto';
import type { ChargeOutcome, InstanceRef, SettleOutcome } from '@spendguard/core/adapter';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdentifier, SCHEMA_VERSION, sqlFor } from './migrate.js';
import { M, monthRef, NOW } from './test-support/spi-pair.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const DAY = 86_400_000;
const SETTINGS = JSON.stringify({ retention: DAY, eventRetention: 30 * DAY, history: 730 * DAY, callRetention: 3_600_000, sweep: false });

describe('postgresAdapter schema upgrade', () => {
  it('migrates a version 1 schema, its data kept', { timeout: 30_000 }, async () => {
    const schema = schemas.newSchema('v1');
    const q = quoteIdentifier(schema);
    const admin = await schemas.pool(1);
    // What the version 1 adapter's migration did, and the calls it sent (its wire format: no `now`).
    await admin.query(`CREATE SCHEMA ${q}`);
    await admin.query(`CREATE TABLE ${q}.schema_version (version integer NOT NULL)`);
    for (const file of ['001-tables', '002-functions', '003-batch'] as const) await admin.query(sqlFor(file, schema));
    await admin.query(`INSERT INTO ${q}.schema_version (version) VALUES (1)`);
    const old = monthRef('m', 0, { rollover: null });
    const batchV1 = (ops: unknown[]) =>
      admin.query(`SELECT ${q}.batch($1, $2, $3, $4) AS r`, [randomUUID(), JSON.stringify(ops), JSON.stringify([old]), SETTINGS]);
    const charge = { t: 'c', force: false, ttl: 86_400_000, key: null, overage: null, refs: [0] };
    await batchV1([
      { ...charge, reserve: false, id: 'spend-1', amount: 60 * M },
      { ...charge, reserve: true, id: 'held-1', amount: 10 * M },
    ]);
    await admin.query(`SELECT ${q}.set_limit('other', $1, 0)`, [5 * M]);

    const store = await schemas.adapter(schema);
    store.configure({ retentionMs: 86_400_000 });
    const m = (k: number): InstanceRef => monthRef('m', k);
    // Opened before rollover existed: it keeps nothing carried.
    expect(await store.read([m(0)], NOW)).toMatchObject([{ limit: 100 * M, used: 60 * M, reserved: 10 * M, carried: 0 }]);
    const { rows } = await admin.query(`SELECT version FROM ${q}.schema_version`);
    expect(rows).toEqual([{ version: SCHEMA_VERSION }]);
    expect(SCHEMA_VERSION).toBe(3);

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
    const grant = { id: 'g-1', name: 'm', amount: 1 * M, expiresAt: NOW + 86_400_000, grantedAt: NOW };
    expect(await store.grant?.({ grant, expectedVersion: 1, now: NOW })).toEqual({ ok: true, version: 2 });
    expect(await store.read([m(1)], NOW)).toMatchObject([{ limit: 126 * M }]);
    // The facts the version 1 batch wrote stay, and the new ones follow them.
    const feed = (await store.feed?.({ limit: 100 })) ?? [];
    expect(feed.map((f) => [f.period, f.used / M, f.overage?.actual])).toEqual([
      ['2026-11', 60, undefined],
      ['2026-11', 75, 15 * M], // the commit above its reservation
      ['2026-12', 125, undefined],
    ]);
    // One definition of each function that changed its arguments.
    const defs = await admin.query<{ proname: string; n: string }>(
      `SELECT p.proname, count(*)::text AS n FROM pg_proc AS p WHERE p.pronamespace = $1::regnamespace
        AND p.proname IN ('standing', 'forget_due') GROUP BY p.proname ORDER BY 1`,
      [q],
    );
    expect(defs.rows).toEqual([
      { proname: 'forget_due', n: '1' },
      { proname: 'standing', n: '1' },
    ]);
  });
});

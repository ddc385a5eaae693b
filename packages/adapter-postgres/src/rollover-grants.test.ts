// Rollover and grants through the SPI: each step sent to the memory adapter (the reference algorithm,
// record-adapter.ts) and to PostgreSQL, which must answer the same; the figures the steps must reach are
// written out too, so that a mistake both stores made alike would still show.
import { randomUUID } from 'node:crypto';
import type { Grant, InstanceRef, LeaseItem, StorageAdapter } from '@spendguard/core/adapter';
import { afterAll, describe, expect, it } from 'vitest';
import { factsOf, M, month, monthRef, NOW, type Pair, pairOf, same } from './test-support/spi-pair.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function spend(pair: Pair, refs: InstanceRef[], amount: number, now = NOW, force = false) {
  const callId = randomUUID();
  return same(pair, (s) => s.charge({ kind: 'spend', callId, instances: refs, amount, now, force }));
}

function reserve(pair: Pair, refs: InstanceRef[], amount: number, now = NOW) {
  const callId = randomUUID();
  return same(pair, (s) => s.charge({ kind: 'reserve', callId, instances: refs, amount, now, ttlMs: 10 * DAY }));
}

const read = (pair: Pair, refs: InstanceRef[], now = NOW) => same(pair, (s) => s.read(refs, now));
const observe = (pair: Pair, refs: InstanceRef[], now = NOW) => same(pair, (s) => s.observe(refs, now));

async function setLimit(pair: Pair, name: string, limit: number, now = NOW) {
  const { version } = await limitsOf(pair, now);
  return same(pair, (s) => s.setLimit({ name, limit, expectedVersion: version, now }));
}

function grantOf(name: string, amount: number, expiresAt: number, extra: Partial<Grant> = {}): Grant {
  return { id: randomUUID(), name, amount, expiresAt, grantedAt: NOW, ...extra };
}

async function grant(pair: Pair, g: Grant, expectedVersion?: number, now = NOW) {
  const version = expectedVersion ?? (await limitsOf(pair, now)).version;
  return same(pair, (s) => (s.grant as NonNullable<StorageAdapter['grant']>)({ grant: g, expectedVersion: version, now }));
}

/**
 * The limits as the core uses them: the grants that count at `now`, sorted (each store forgets expired
 * ones on its own schedule, and keeps its own order).
 */
function limitsOf(pair: Pair, now = NOW) {
  return same(pair, async (s) => {
    const l = await s.limits();
    return { ...l, grants: l.grants.filter((g) => g.expiresAt > now).sort((a, b) => (a.id < b.id ? -1 : 1)) };
  });
}

describe('postgresAdapter rollover (against the memory adapter)', () => {
  it('carries what the previous period left of its base limit, at most max; nothing into the first period', async () => {
    const pair = await pairOf(schemas);
    const m = (k: number) => monthRef('m', k);
    expect(await read(pair, [m(0)])).toMatchObject([{ limit: 100 * M, carried: 0 }]);
    expect((await spend(pair, [m(0)], 80 * M)).totals).toMatchObject([{ limit: 100 * M, carried: 0, used: 80 * M }]);
    expect(await read(pair, [m(1)])).toMatchObject([{ limit: 120 * M, carried: 20 * M, used: 0 }]); // before it opens
    expect(await spend(pair, [m(1)], 120 * M)).toMatchObject({ ok: true, totals: [{ limit: 120 * M, carried: 20 * M }] });
    expect(await spend(pair, [m(1)], 1)).toMatchObject({ ok: false, reason: 'limit_exceeded', totals: [{ carried: 20 * M }] });
    // 120 used of a base of 100: nothing carries.
    expect(await spend(pair, [m(2)], 1 * M)).toMatchObject({ ok: true, totals: [{ limit: 100 * M, carried: 0 }] });
    // 99 unused, capped at 30.
    expect(await spend(pair, [m(3)], 1 * M)).toMatchObject({ ok: true, totals: [{ limit: 130 * M, carried: 30 * M }] });
    // Month 4 idle, after activity: its whole base went unused (capped).
    expect(await spend(pair, [m(5)], 1 * M)).toMatchObject({ ok: true, totals: [{ limit: 130 * M, carried: 30 * M }] });
    // Back to a month before the latest one, its previous month idle: nothing is known to have gone unused.
    expect(await read(pair, [monthRef('m', -5)])).toMatchObject([{ limit: 100 * M, carried: 0 }]);
    // A ref without rollover reports no carried amount, even for a period that kept one.
    const plain = await read(pair, [monthRef('m', 3, { rollover: null })]);
    expect(plain[0]).not.toHaveProperty('carried');
    expect(plain).toMatchObject([{ limit: 100 * M }]);
  });

  it('keeps what the opening step carried: later spends in the previous period and setLimit do not move it', async () => {
    const pair = await pairOf(schemas);
    const m = (k: number) => monthRef('m', k, { rollover: { max: 100 * M, previous: month(k - 1) } });
    await spend(pair, [m(0)], 50 * M);
    const r = await reserve(pair, [m(0)], 20 * M);
    expect(r.ok).toBe(true);
    expect((await spend(pair, [m(1)], 1 * M)).totals).toMatchObject([{ limit: 150 * M, carried: 50 * M }]);
    const callId = (r as { callId: string }).callId;
    expect(
      await same(pair, (s) => s.settle({ action: 'commit', reservationId: callId, amount: 20 * M, spendId: 'c1', now: NOW })),
    ).toMatchObject({
      status: 'applied',
      totals: [{ used: 70 * M, carried: 0 }],
    });
    await spend(pair, [m(0)], 10 * M, NOW, true);
    expect(await read(pair, [m(1)])).toMatchObject([{ limit: 150 * M, carried: 50 * M, used: 1 * M }]);
    expect(await setLimit(pair, 'm', 200 * M)).toEqual({ ok: true, version: 1 });
    expect(await observe(pair, [m(1)])).toMatchObject([{ limit: 250 * M, limitBefore: 150 * M, carried: 50 * M }]);
    // The next month carries from the base that stands when it opens: 200 − 1.
    expect(await read(pair, [m(2)])).toMatchObject([{ limit: 300 * M, carried: 100 * M }]);
  });

  it('within one batch, a period opened after a spend in its previous period carries what that spend left', async () => {
    const pair = await pairOf(schemas);
    const other = monthRef('other', 0, { rollover: null });
    const m = (k: number) => monthRef('m', k);
    await spend(pair, [m(-1)], 1 * M); // activity before
    const calls = (store: StorageAdapter) => [
      store.charge({ kind: 'spend', callId: 'b1', instances: [m(0)], amount: 90 * M, now: NOW }),
      store.charge({ kind: 'spend', callId: 'b2', instances: [m(1)], amount: 1 * M, now: NOW }),
      store.read([m(2)], NOW),
    ];
    const mem = [];
    for (const call of calls(pair.mem)) mem.push(await call);
    // The first call goes alone; the ones made while it is in flight go together, in order, as the next batch.
    const [, ...pg] = await Promise.all([pair.pg.read([other], NOW), ...calls(pair.pg)]);
    expect(pg).toEqual(mem);
    expect(mem[1]).toMatchObject({ totals: [{ limit: 110 * M, carried: 10 * M }] });
    expect(mem[2]).toMatchObject([{ limit: 130 * M, carried: 30 * M }]);
  });

  it('adds carry and grants to the override that stands', async () => {
    const pair = await pairOf(schemas);
    const u = (k: number) => monthRef('u:a', k, { limit: 10 * M, limitKeys: ['u:a', 'u:*'] });
    await setLimit(pair, 'u:*', 20 * M);
    await spend(pair, [u(0)], 5 * M);
    await grant(pair, grantOf('u:a', 7 * M, NOW + HOUR));
    await grant(pair, grantOf('u:b', 100 * M, NOW + DAY)); // another instance's
    expect(await read(pair, [u(1)])).toMatchObject([{ limit: 42 * M, carried: 15 * M }]);
    expect((await spend(pair, [u(1)], 42 * M)).ok).toBe(true);
    expect((await spend(pair, [u(1)], 1)).ok).toBe(false);
    expect(await read(pair, [u(1)], NOW + HOUR)).toMatchObject([{ limit: 35 * M, carried: 15 * M, used: 42 * M }]);
    await setLimit(pair, 'u:a', 50 * M, NOW + HOUR); // more specific: the base moves, the carried amount stays
    expect(await read(pair, [u(1)], NOW + HOUR)).toMatchObject([{ limit: 65 * M, carried: 15 * M }]);
    // A ref without a limit gets none from a grant or a carry.
    const none = monthRef('u:b', 1, { limit: null, limitKeys: ['u:b'] });
    expect(await read(pair, [none], NOW + HOUR)).toEqual([null]);
    expect(await spend(pair, [none], 1, NOW + HOUR)).toMatchObject({ ok: false, reason: 'no_budget' });
  });
});

describe('postgresAdapter grants (against the memory adapter)', () => {
  it("count while expiresAt is after the step's own now, whatever the server's clock says", async () => {
    const pair = await pairOf(schemas);
    const m = monthRef('m', 0, { rollover: null });
    // Long past on the server's clock: the sweep of the first batch leaves it, as it counts for this caller.
    await grant(pair, grantOf('m', 10 * M, NOW + 1000));
    expect(await read(pair, [m], NOW + 999)).toMatchObject([{ limit: 110 * M }]);
    expect(await spend(pair, [m], 110 * M, NOW + 999)).toMatchObject({ ok: true, totals: [{ limit: 110 * M }] });
    expect(await spend(pair, [m], 1, NOW + 1000)).toMatchObject({ ok: false, totals: [{ limit: 100 * M }] });
  });

  it('count for each call of a batch by its own now', async () => {
    const pair = await pairOf(schemas);
    const m = monthRef('m', 0, { rollover: null });
    await grant(pair, grantOf('m', 10 * M, NOW + 1000));
    const mem = [await pair.mem.read([m], NOW + 999), await pair.mem.read([m], NOW + 1000)];
    // The first call goes alone; the two made while it is in flight go together as the next batch.
    const [, ...pg] = await Promise.all([
      pair.pg.read([monthRef('other', 0)], NOW),
      pair.pg.read([m], NOW + 999),
      pair.pg.read([m], NOW + 1000),
    ]);
    expect(pg).toEqual(mem);
    expect(mem).toMatchObject([[{ limit: 110 * M }], [{ limit: 100 * M }]]);
  });

  it('count in the charge of a slice whose holder stopped renewing it, at the now of the step that finds it', async () => {
    const pair = await pairOf(schemas);
    const m = monthRef('m', 0, { rollover: null });
    await grant(pair, grantOf('m', 10 * M, NOW + DAY)); // expired on the server's clock, not the callers'
    const lease = (s: StorageAdapter) =>
      (s.lease as NonNullable<StorageAdapter['lease']>)({
        items: [{ id: 'slice-1', ref: m, spent: 0, want: 60 * M, min: 0 }],
        now: NOW,
        expireMs: 1,
      });
    expect(await same(pair, lease)).toMatchObject({ slices: [55 * M] }); // half of 110 free
    await new Promise((r) => setTimeout(r, 50)); // the server's clock passes the slice's time too
    expect(await read(pair, [m], NOW + 10)).toMatchObject([{ limit: 110 * M, used: 55 * M, reserved: 0 }]);
    const facts = await same(pair, async (s) => factsOf(await (s.feed as NonNullable<StorageAdapter['feed']>)({ limit: 100 })));
    expect(facts.map((f) => [f.usedBefore / M, f.used / M, f.limit / M])).toContainEqual([0, 55, 110]);
  });

  it('are written once by id, by compare-and-set on the version setLimit moves too', async () => {
    const pair = await pairOf(schemas);
    const m = monthRef('m', 0, { rollover: null });
    const g = grantOf('m', 5 * M, NOW + DAY);
    expect(await grant(pair, g, 0)).toEqual({ ok: true, version: 1 });
    expect(await grant(pair, g, 0)).toEqual({ ok: true, version: 1 }); // sent again: found, nothing changes
    expect(await grant(pair, { ...g, amount: 50 * M }, 7)).toEqual({ ok: true, version: 1 });
    expect(await read(pair, [m])).toMatchObject([{ limit: 105 * M }]);
    expect(await setLimit(pair, 'm', 200 * M)).toEqual({ ok: true, version: 2 });
    const late = grantOf('m', 1 * M, NOW + DAY);
    expect(await grant(pair, late, 1)).toEqual({ ok: false, version: 2 }); // read before the setLimit
    expect(await grant(pair, late, 2)).toEqual({ ok: true, version: 3 });
    expect(await same(pair, (s) => s.setLimit({ name: 'm', limit: 1, expectedVersion: 2, now: NOW }))).toEqual({ ok: false, version: 3 });
    expect(await read(pair, [m])).toMatchObject([{ limit: 206 * M }]);
    expect((await limitsOf(pair)).grants).toHaveLength(2);
  });

  it('are listed by limits() with their reason, any text included', async () => {
    const pair = await pairOf(schemas);
    const a = grantOf('team:\u0000red', 5 * M, NOW + DAY, { id: 'g-a\u0001', reason: 'launch\u0000week' });
    const b = grantOf('monthly', 1, NOW + 2 * DAY, { id: 'g-b', grantedAt: NOW - 5 });
    await grant(pair, a);
    await grant(pair, b);
    await setLimit(pair, 'monthly', 3 * M);
    expect(await limitsOf(pair)).toEqual({ version: 3, overrides: new Map([['monthly', 3 * M]]), grants: [a, b] });
    expect(await read(pair, [monthRef('team:\u0000red', 0, { rollover: null })])).toMatchObject([{ limit: 105 * M }]);
  });

  it('are forgotten once expired, by the sweep of a later step', async () => {
    const pair = await pairOf(schemas);
    const old = grantOf('m', 1 * M, NOW + 1000);
    const young = grantOf('m', 2 * M, NOW + DAY);
    await grant(pair, old);
    await grant(pair, young);
    await read(pair, [monthRef('m', 0)], NOW);
    const kept = await same(pair, async (s) => (await s.limits()).grants.map((g) => g.id).sort());
    expect(kept).toEqual([old.id, young.id].sort());
    // A second connection sweeps with its first batch (the first one sweeps once a second).
    pair.pg = await schemas.adapter(schemas.schemaOf.get(pair.pg));
    pair.pg.configure({ retentionMs: DAY });
    await read(pair, [monthRef('m', 0)], NOW + 2000);
    expect(await same(pair, async (s) => (await s.limits()).grants)).toEqual([young]);
    const schema = schemas.schemaOf.get(pair.pg) as string;
    const admin = await schemas.pool(1);
    const { rows } = await admin.query(`SELECT id FROM "${schema}".grants`);
    expect(rows).toEqual([{ id: young.id }]);
  });

  it('raise the limit of lease steps, settles and the feed', async () => {
    const pair = await pairOf(schemas);
    const m = (k: number) => monthRef('m', k);
    await spend(pair, [m(0)], 80 * M);
    await grant(pair, grantOf('m', 10 * M, NOW + DAY));
    const item = (spent: number): LeaseItem => ({ id: 'slice-1', ref: m(1), spent, want: 200 * M, min: 0 });
    const first = await same(pair, (s) =>
      (s.lease as NonNullable<StorageAdapter['lease']>)({ items: [item(0)], now: NOW, expireMs: 10 * DAY }),
    );
    expect(first).toMatchObject({ slices: [65 * M], totals: [{ limit: 130 * M, carried: 20 * M, reserved: 65 * M, leased: 65 * M }] });
    const second = await same(pair, (s) =>
      (s.lease as NonNullable<StorageAdapter['lease']>)({ items: [item(65 * M)], now: NOW, expireMs: 10 * DAY }),
    );
    expect(second.totals).toMatchObject([{ limit: 130 * M, used: 65 * M }]);
    const r = await reserve(pair, [m(1)], 1 * M);
    expect(r.ok).toBe(true);
    await grant(pair, grantOf('m', 100 * M, NOW + DAY));
    const settled = await same(pair, (s) =>
      s.settle({ action: 'commit', reservationId: (r as { callId: string }).callId, amount: 2 * M, spendId: 's1', now: NOW }),
    );
    expect(settled).toMatchObject({ status: 'applied', totals: [{ limit: 230 * M, limitBefore: 130 * M, carried: 20 * M }] });
    const facts = await same(pair, async (s) => factsOf(await (s.feed as NonNullable<StorageAdapter['feed']>)({ limit: 100 })));
    expect(facts.map((f) => [f.period, f.limitBefore / M, f.limit / M])).toContainEqual(['2026-12', 130, 230]);
  });

  it('move the level with the observe step after them, into the feed', async () => {
    const pair = await pairOf(schemas);
    const m = monthRef('m', 0, { rollover: null });
    await spend(pair, [m], 95 * M);
    await grant(pair, grantOf('m', 100 * M, NOW + HOUR));
    expect(await observe(pair, [m])).toMatchObject([{ limit: 200 * M, limitBefore: 100 * M }]);
    expect(await observe(pair, [m])).toMatchObject([{ limit: 200 * M, limitBefore: 200 * M }]); // seen once
    expect(await observe(pair, [m], NOW + HOUR)).toMatchObject([{ limit: 100 * M, limitBefore: 200 * M }]);
    const facts = await same(pair, async (s) => factsOf(await (s.feed as NonNullable<StorageAdapter['feed']>)({ limit: 100 })));
    expect(facts.map((f) => [f.limitBefore / M, f.limit / M])).toEqual([
      [100, 100],
      [100, 200],
      [200, 100],
    ]);
  });
});

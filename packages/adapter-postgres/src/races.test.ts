// races across two pools (as two processes): settles of one reservation, idempotency keys,
// expiry against a late commit, many budgets per call, edge amounts.
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
}

describe('postgresAdapter: races across pools', () => {
  it('commit and release of one reservation from two processes: exactly one wins, counted once', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('settle');
    const budgets = [{ id: 'monthly', limit: 1000 }];
    const a = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const b = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    let committed = 0;
    for (let i = 0; i < 50; i++) {
      const r = await a.reserve({}, 5);
      if (!r.allowed) throw new Error('refused');
      const outs = await Promise.all([
        code(a.commit(r.reservationId, 3)),
        code(b.commit(r.reservationId, 3)),
        code(i % 2 ? b.release(r.reservationId) : a.release(r.reservationId)),
      ]);
      if (outs.filter((o) => o === 'ok').length < 1) throw new Error(`none won: ${outs}`);
      if (outs[0] === 'ok' || outs[1] === 'ok') committed++;
    }
    const s = await b.status('monthly');
    expect({ used: s.used, reserved: s.reserved }).toEqual({ used: committed * 3, reserved: 0 });
  });

  it('one idempotency key from 8 guards on 8 pools at once counts once', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('idem');
    const budgets = [
      { id: 'monthly', limit: 1000 },
      { id: 'user', per: 'user', limit: { '*': 1000 } },
    ];
    const guards = await Promise.all(
      Array.from({ length: 8 }, async () => createSpendGuard({ store: await schemas.adapter(schema), budgets })),
    );
    let expected = 0;
    for (let round = 0; round < 30; round++) {
      const key = `k${round}`;
      const results = await Promise.all(
        guards.flatMap((g, i) => [g.spend({ user: `u${i}` }, 1, { idempotencyKey: key }), g.spend({ user: `u${i}` }, 0.5)]),
      );
      expected += 1 + 8 * 0.5;
      expect(results.every((r) => r.allowed)).toBe(true);
    }
    expect((await guards[0]!.status('monthly')).used).toBeCloseTo(expected, 6);
  });

  it('a reservation that expires, then is committed late from another process, counts once; the hold was freed once', {
    timeout: 60_000,
  }, async () => {
    const schema = schemas.newSchema('late');
    const budgets = [{ id: 'monthly', limit: 10 }];
    const a = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const b = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const r = await a.reserve({}, 6, { ttlMs: 200 });
    if (!r.allowed) throw new Error('refused');
    await new Promise((res) => setTimeout(res, 400));
    // The next step frees the hold (server clock), racing the late commit.
    const [spent, c1, c2] = await Promise.all([b.spend({}, 4), code(a.commit(r.reservationId, 6)), code(b.commit(r.reservationId, 6))]);
    expect(spent.allowed).toBe(true);
    expect([c1, c2].sort()).toEqual(['ok', 'ok']); // committed_before returns the first result
    const s = await a.status('monthly');
    expect({ used: s.used, reserved: s.reserved }).toEqual({ used: 10, reserved: 0 });
  });

  it('more than 64 holds expiring at once are all freed by the next step (as the memory adapter does)', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('mass');
    const budgets = [{ id: 'monthly', limit: 100 }];
    const g = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await Promise.all(Array.from({ length: 100 }, () => g.reserve({}, 1, { ttlMs: 300 })));
    await new Promise((res) => setTimeout(res, 600));
    // Every hold has expired: the whole limit is free again.
    const r = await g.spend({}, 100);
    expect(r.allowed).toBe(true);
  });

  it('a call on 40 budgets at once, 128 of them in flight, all or nothing', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('wide');
    const budgets = Array.from({ length: 40 }, (_, i) => ({ id: `b${i}`, per: 'user', limit: { '*': 10 } }));
    const g = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const h = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const calls = Array.from({ length: 256 }, (_, i) => (i % 2 ? g : h).spend({ user: `u${i % 3}` }, 0.37));
    const res = await Promise.all(calls);
    for (let u = 0; u < 3; u++) {
      const admitted = res.filter((r, i) => i % 3 === u && r.allowed).length;
      expect(admitted).toBe(Math.floor(10 / 0.37));
      for (let b = 0; b < 40; b++) expect((await g.status(`b${b}:u${u}`)).used).toBeCloseTo(admitted * 0.37, 6);
    }
  });

  it('amounts near 2^53 micro-units are exact', async () => {
    const budgets = [
      { id: 'monthly', limit: 1_000_000_000 },
      { id: 'soft', enforce: 'soft' as const, limit: 1 },
    ];
    const g = createSpendGuard({ store: await schemas.adapter(), budgets });
    expect((await g.spend({}, 999_999_999.999999)).allowed).toBe(true);
    expect((await g.spend({}, 0.000001)).allowed).toBe(true);
    expect((await g.spend({}, 0.000001)).allowed).toBe(false);
    expect((await g.status('monthly')).used).toBe(1_000_000_000);
    // The soft budget keeps counting: 9 × 1e15 micro-units passes 2^53 (as memory, an adapter of numbers, would too).
    expect((await g.status('soft')).used).toBe(1_000_000_000);
  });

  it('a limit of 0 refuses everything but a zero spend, as memory does', async () => {
    const budgets = [{ id: 'monthly', limit: 0 }];
    const g = createSpendGuard({ store: await schemas.adapter(), budgets });
    expect((await g.spend({}, 0)).allowed).toBe(true);
    expect((await g.spend({}, 0.000001)).allowed).toBe(false);
    const r = await g.reserve({}, 0);
    expect(r.allowed).toBe(true);
  });
});

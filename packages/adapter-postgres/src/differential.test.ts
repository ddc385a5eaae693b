// the PL/pgSQL batch against the JavaScript record adapter (memory), fed the same sequence of
// calls. Results, events, status and history must agree.

import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const budgets = [
  { id: 'monthly', limit: 10 },
  { id: 'user', per: 'user', limit: { '*': 4, u0: 2.5 }, softLimit: { '*': 3, u0: 2 } },
  { id: 'life', per: 'team', period: 'never' as const, limit: { '*': 6 } },
  { id: 'soft', per: 'team', enforce: 'soft' as const, limit: { '*': 1 }, period: 'day' as const, timezone: 'Pacific/Kiritimati' },
  { id: 'shadow', per: 'user', enforce: 'shadow' as const, limit: { '*': 1.5 } },
];

type Cmd =
  | { k: 'spend'; user: number; team: number; amount: number; key?: number | undefined }
  | { k: 'reserve'; user: number; team: number; amount: number; key?: number | undefined }
  | { k: 'commit'; r: number; actual: number }
  | { k: 'release'; r: number }
  | { k: 'setLimit'; rule: 'monthly' | 'user' | 'life'; key?: number | undefined; limit: number };

const amount = fc.integer({ min: 0, max: 3_000_000 }).map((m) => m / 1e6);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant('spend' as const), user: fc.nat(2), team: fc.nat(1), amount, key: fc.option(fc.nat(3), { nil: undefined }) }),
  fc.record({
    k: fc.constant('reserve' as const),
    user: fc.nat(2),
    team: fc.nat(1),
    amount,
    key: fc.option(fc.nat(3), { nil: undefined }),
  }),
  fc.record({ k: fc.constant('commit' as const), r: fc.nat(5), actual: amount }),
  fc.record({ k: fc.constant('release' as const), r: fc.nat(5) }),
  fc.record({
    k: fc.constant('setLimit' as const),
    rule: fc.constantFrom('monthly' as const, 'user' as const, 'life' as const),
    key: fc.option(fc.nat(2), { nil: undefined }),
    limit: fc.integer({ min: 0, max: 12_000_000 }).map((m) => m / 1e6),
  }),
);

async function run(guard: SpendGuard, cmds: Cmd[], tag: string): Promise<unknown[]> {
  const log: unknown[] = [];
  let pending: string[] = [];
  for (const e of ['transition', 'alert', 'reset', 'denied', 'overage'] as const) {
    guard.on(e as 'alert', (ev: unknown) => {
      const { at, timestamp, reservationId, ...rest } = ev as Record<string, unknown>;
      void at;
      void timestamp;
      void reservationId;
      pending.push(JSON.stringify({ event: e, ...rest }));
    });
  }
  const reservations: string[] = [];
  for (const c of cmds) {
    try {
      const ik = (k?: number) => (k === undefined ? undefined : { idempotencyKey: `${tag}-k${k}` });
      switch (c.k) {
        case 'spend': {
          const r = await guard.spend({ user: `u${c.user}`, team: `t${c.team}` }, c.amount, ik(c.key));
          log.push({ c, r });
          break;
        }
        case 'reserve': {
          const r = await guard.reserve({ user: `u${c.user}`, team: `t${c.team}` }, c.amount, ik(c.key));
          if (r.allowed) reservations.push(r.reservationId);
          const { reservationId, expiresAt, ...rest } = r as Record<string, unknown>;
          void expiresAt;
          log.push({ c, r: rest, rid: reservationId === undefined ? undefined : reservations.indexOf(reservationId as string) });
          break;
        }
        case 'commit': {
          const id = reservations[c.r];
          if (id === undefined) break;
          const r = await guard.commit(id, c.actual);
          const { spendId, ...rest } = r as unknown as Record<string, unknown>;
          void spendId;
          log.push({ c, r: rest });
          break;
        }
        case 'release': {
          const id = reservations[c.r];
          if (id === undefined) break;
          await guard.release(id);
          log.push({ c });
          break;
        }
        case 'setLimit':
          await guard.setLimit(c.rule, c.limit, c.key === undefined ? undefined : c.rule === 'user' ? `u${c.key}` : `t${c.key}`);
          log.push({ c });
          break;
      }
    } catch (err) {
      log.push({ c, err: isSpendGuardError(err) ? err.code : String(err) });
    }
    log.push({ events: pending.sort() }); // the order of one call's events across instances is no contract
    pending = [];
  }
  const status = await guard.status();
  log.push({ status: status.map((s) => JSON.parse(JSON.stringify(s))).sort((a, b) => (a.budget < b.budget ? -1 : 1)) });
  const page = await guard.events({ limit: 1000 } as never);
  // Sorted: a whole-rule setLimit visits instances in listing order (memory: insertion; PostgreSQL: by name).
  log.push({ feed: (page as unknown as { events: unknown[] }).events.map((e) => JSON.stringify(norm(e))).sort() });
  return log;
}

const VOLATILE = new Set([
  'spendId',
  'reservationId',
  'expiresAt',
  'at',
  'timestamp',
  'callId',
  'id',
  'since',
  'periodStart',
  'periodEnd',
  'resetsAt',
  'forecast',
]);
function norm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, norm(x)]),
    );
  }
  return v;
}

describe('postgresAdapter: postgres vs memory on the same calls', () => {
  it('agree', { timeout: 300_000 }, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 30 }), async (cmds) => {
        const tag = `r${n++}`;
        const mem = createSpendGuard({ store: memoryAdapter(), budgets });
        const pg = createSpendGuard({ store: await schemas.adapter(), budgets });
        const a = await run(mem, cmds, tag);
        const b = await run(pg, cmds, tag);
        await mem.close();
        await pg.close();
        expect(norm(b)).toEqual(norm(a));
      }),
      { numRuns: Number(process.env.RUNS ?? 60) },
    );
  });
});

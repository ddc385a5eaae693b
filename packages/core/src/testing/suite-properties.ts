// Conformance properties (fast-check): the invariants of DESIGN.md under generated operations,
// interleaved by fc.scheduler() across several guards sharing one store.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlertEvent, ResetEvent, TransitionEvent } from '../events.js';
import type { SpendGuard } from '../guard.js';
import { toMicros } from '../money.js';
import { ALERT_LEVELS, DEFAULT_THRESHOLDS, LEVELS, levelFor } from '../thresholds.js';
import { type ConformanceOptions, fixture, micros } from './harness.js';

const PROJECTS = ['a', 'b', 'c'] as const; // 'c' has no budget: refused as no_budget
const MODELS = ['m1', 'm2'] as const;

interface Op {
  guard: number;
  kind: 'spend' | 'commit' | 'release' | 'hold';
  project: (typeof PROJECTS)[number];
  model: (typeof MODELS)[number];
  amount: number;
  /** commit: the actual cost as a fraction of the estimate (≤ 1: no overage in this property) */
  actualShare: number;
  key?: string;
}

const opArb: fc.Arbitrary<Op> = fc.record(
  {
    guard: fc.nat(2),
    kind: fc.constantFrom('spend', 'commit', 'release', 'hold'),
    project: fc.constantFrom(...PROJECTS),
    model: fc.constantFrom(...MODELS),
    amount: fc.integer({ min: 1, max: 4_000_000 }).map((n) => n / 1_000_000), // up to 4.0, micro-unit steps
    actualShare: fc.double({ min: 0, max: 1, noNaN: true }),
    key: fc.constantFrom('k1', 'k2', 'k3'),
  },
  { requiredKeys: ['guard', 'kind', 'project', 'model', 'amount', 'actualShare'] },
);

const limitsArb = fc.record({
  total: fc.integer({ min: 5, max: 40 }),
  a: fc.integer({ min: 2, max: 20 }),
  b: fc.integer({ min: 2, max: 20 }),
  model: fc.integer({ min: 3, max: 25 }),
});

function budgetsFor(l: { total: number; a: number; b: number; model: number }) {
  return [
    { id: 'total', limit: l.total, softLimit: l.total * 0.6 },
    { id: 'project', per: 'project', limit: { a: l.a, b: l.b } },
    { id: 'model', per: 'model', limit: { '*': l.model } },
    { id: 'watch', limit: l.total / 2, enforce: 'soft' as const },
  ];
}

/**
 * A retried request repeats its payload: one idempotency key, one call. (Which of several concurrent
 * retries runs first in the store need not be the one whose reply arrives first.)
 */
const KEYED: Record<string, Pick<Op, 'project' | 'model' | 'amount'>> = {
  k1: { project: 'a', model: 'm1', amount: 0.7 },
  k2: { project: 'b', model: 'm2', amount: 1.3 },
  k3: { project: 'a', model: 'm2', amount: 0.250001 },
};

/** Which instances an admitted call touched: the same matching the rules do, written out by hand. */
function touched(op: Pick<Op, 'project' | 'model'>): string[] {
  return ['total', `project:${op.project}`, `model:${op.model}`, 'watch'];
}

function collect(guards: SpendGuard[]) {
  const transitions: TransitionEvent[] = [];
  const alerts: AlertEvent[] = [];
  const resets: ResetEvent[] = [];
  for (const g of guards) {
    g.on('transition', (t) => transitions.push(t));
    g.on('alert', (a) => alerts.push(a));
    g.on('reset', (r) => resets.push(r));
  }
  return { transitions, alerts, resets };
}

export function propertiesSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 120_000;
  const numRuns = options.numRuns ?? 60;

  describe('invariants (property-based)', () => {
    it('never passes a hard limit, conserves every micro-unit, and emits each level once across guards', { timeout }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), limitsArb, fc.array(opArb, { minLength: 1, maxLength: 30 }), async (s, limits, ops) => {
          const f = await fixture(options, budgetsFor(limits), 3);
          const events = collect(f.guards);
          const admitted = new Map<string, number>(); // instance → micro-units recorded
          const keyed = new Map<string, string>(); // idempotency key → spend id
          const holds: string[] = [];
          const violations: string[] = [];
          const record = (op: Pick<Op, 'project' | 'model'>, amount: number) => {
            for (const name of touched(op)) admitted.set(name, (admitted.get(name) ?? 0) + amount);
          };
          const checkLimits = async (g: SpendGuard) => {
            for (const st of await g.status()) {
              if (st.enforce === 'hard' && micros(st.used) + micros(st.reserved) > micros(st.limit)) {
                violations.push(`${st.budget}: used ${st.used} + reserved ${st.reserved} > ${st.limit}`);
              }
            }
          };
          const run = async (generated: Op) => {
            const op = generated.kind === 'spend' && generated.key ? { ...generated, ...KEYED[generated.key] } : generated;
            const g = f.guards[op.guard] as SpendGuard;
            const attrs = { project: op.project, model: op.model };
            if (op.kind === 'spend') {
              const r = await g.spend(attrs, op.amount, op.key ? { idempotencyKey: op.key } : undefined);
              if (r.allowed) {
                const first = op.key ? keyed.get(op.key) : undefined;
                if (first !== undefined && first !== r.spendId) violations.push(`key ${op.key} gave two spend ids`);
                if (op.key && first === undefined) keyed.set(op.key, r.spendId);
                if (first === undefined) record(op, toMicros(op.amount));
              }
            } else {
              const r = await g.reserve(attrs, op.amount);
              if (r.allowed) {
                await s.schedule(Promise.resolve(), 'between reserve and settle');
                if (op.kind === 'hold') holds.push(r.reservationId);
                else if (op.kind === 'release') await f.guards[(op.guard + 1) % 3]?.release(r.reservationId);
                else {
                  const actual = Math.floor(toMicros(op.amount) * op.actualShare) / 1e6;
                  const c = await g.commit(r.reservationId, actual);
                  if (c.overage !== 0) violations.push('unexpected overage');
                  record(op, toMicros(actual));
                }
              } else if (r.reason === 'no_budget' && op.project !== 'c') violations.push(`no_budget for ${op.project}`);
            }
            await checkLimits(g);
          };
          try {
            const all = ops.map((op) => s.schedule(Promise.resolve(op), op.kind).then(run));
            await s.waitFor(Promise.all(all));
            for (const id of holds) await f.guard.release(id);
            expect(violations).toEqual([]);
            const statuses = await f.guard.status();
            for (const st of statuses) {
              // Conservation: every instance holds exactly what was admitted against it, nothing reserved.
              expect([st.budget, micros(st.used), micros(st.reserved)]).toEqual([st.budget, admitted.get(st.budget) ?? 0, 0]);
              // Exactly once: used only grew, so the alerts are each level up to the final one, once.
              const final = levelFor(micros(st.used), micros(st.limit), DEFAULT_THRESHOLDS);
              const levels = events.alerts.filter((a) => a.budget === st.budget && a.level !== 'soft_limit').map((a) => a.level);
              expect(levels.sort()).toEqual(ALERT_LEVELS.slice(0, LEVELS.indexOf(final)).slice().sort());
              const moves = events.transitions
                .filter((t) => t.budget === st.budget)
                .sort((x, y) => LEVELS.indexOf(x.to) - LEVELS.indexOf(y.to));
              let at: string = 'ok';
              for (const t of moves) {
                expect(t.from).toBe(at);
                at = t.to;
              }
              expect(at).toBe(final);
            }
            const soft = events.alerts.filter((a) => a.level === 'soft_limit');
            const total = statuses.find((st) => st.budget === 'total');
            expect(soft.length).toBe(total && micros(total.used) >= toMicros(limits.total * 0.6) ? 1 : 0);
          } finally {
            await f.close();
          }
        }),
        { numRuns },
      );
    });

    it('matches a sequential model: all or nothing, periods, run-time limits, grants, rollover, idempotency', { timeout }, async () => {
      type SeqOp =
        | { kind: 'spend'; user: string; amount: number; key?: string | undefined }
        | { kind: 'advance'; hours: number }
        | { kind: 'limit'; user?: string | undefined; limit: number }
        | { kind: 'grant'; user?: string | undefined; amount: number };
      const seqArb: fc.Arbitrary<SeqOp> = fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record(
            {
              kind: fc.constant('spend' as const),
              user: fc.constantFrom('u1', 'u2'),
              amount: fc.integer({ min: 0, max: 3_000_000 }).map((n) => n / 1e6),
              key: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
            },
            { requiredKeys: ['kind', 'user', 'amount'] },
          ),
        },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }) },
        {
          weight: 1,
          arbitrary: fc.record(
            {
              kind: fc.constant('limit' as const),
              user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
              limit: fc.integer({ min: 0, max: 8 }),
            },
            { requiredKeys: ['kind', 'limit'] },
          ),
        },
        {
          weight: 1,
          arbitrary: fc.record(
            {
              kind: fc.constant('grant' as const),
              user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
              amount: fc.integer({ min: 1, max: 3 }),
            },
            { requiredKeys: ['kind', 'amount'] },
          ),
        },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(seqArb, { maxLength: 40 }), async (seq) => {
          // Days in Sydney, which moves its clocks in April and October, starting the day before.
          const f = await fixture(
            options,
            [
              { id: 'daily', per: 'user', limit: { '*': 5 }, period: 'day', timezone: 'Australia/Sydney', rollover: { max: 4 } },
              { id: 'all', limit: 12, period: 'day', timezone: 'Australia/Sydney', rollover: { max: 9 } },
            ],
            2,
            { retentionMs: 365 * 86_400_000 },
          );
          f.clock.set('2026-10-03T10:00:00Z');
          const events = collect(f.guards);
          const day = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Australia/Sydney' }).format(f.clock.now());
          const used = new Map<string, number>(); // `${instance}@${day}` → micros
          const limitOf = new Map<string, number>([
            ['daily:*', 5e6],
            ['all', 12e6],
          ]);
          const seenKeys = new Map<string, string>();
          let expectedResets = 0;
          const activeDays = new Map<string, string>();
          // Grants last to the end of the day they were made in (the default expiry): `${instance}@${day}` → micros.
          const granted = new Map<string, number>();
          // Rollover: what the step opening an instance's day carried in, and the days each instance was opened.
          const carried = new Map<string, number>();
          const ROLLOVER_MAX: Record<string, number> = { daily: 4e6, all: 9e6 };
          const base = (n: string) => limitOf.get(n) ?? (limitOf.get('daily:*') as number);
          const dayBefore = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
          // min(max, base − the day before's used), 0 before the instance's first day with a spend.
          const carryInto = (n: string, d: string) => {
            if (activeDays.get(n) === undefined) return 0;
            const max = ROLLOVER_MAX[n.startsWith('daily:') ? 'daily' : 'all'] as number;
            return Math.min(max, Math.max(0, base(n) - (used.get(`${n}@${dayBefore(d)}`) ?? 0)));
          };
          const limitNow = (n: string, d: string) =>
            base(n) + (carried.get(`${n}@${d}`) ?? carryInto(n, d)) + (granted.get(`${n}@${d}`) ?? 0);
          try {
            for (const [i, op] of seq.entries()) {
              const g = f.guards[i % 2] as SpendGuard;
              if (op.kind === 'advance') {
                f.clock.advance(op.hours * 3_600_000);
                continue;
              }
              if (op.kind === 'limit') {
                await g.setLimit(op.user ? 'daily' : 'all', op.limit, op.user);
                limitOf.set(op.user ? `daily:${op.user}` : 'all', op.limit * 1e6);
                continue;
              }
              const d = day();
              if (op.kind === 'grant') {
                const n = op.user ? `daily:${op.user}` : 'all';
                await g.grant(n, op.amount);
                granted.set(`${n}@${d}`, (granted.get(`${n}@${d}`) ?? 0) + op.amount * 1e6);
                expect(micros((await g.status(n)).limit)).toBe(limitNow(n, d));
                continue;
              }
              const names = [`daily:${op.user}`, 'all'];
              const amount = toMicros(op.amount);
              const r = await g.spend({ user: op.user }, op.amount, op.key ? { idempotencyKey: op.key } : undefined);
              const replay = op.key !== undefined && seenKeys.has(op.key);
              const fits = names.every((n) => (used.get(`${n}@${d}`) ?? 0) + amount <= limitNow(n, d));
              expect(r.allowed).toBe(replay || fits);
              if (r.allowed && !replay) {
                if (op.key) seenKeys.set(op.key, r.spendId);
                for (const n of names) {
                  // This spend opens the instance's day: what carries in is fixed now, by the base of now.
                  if (!carried.has(`${n}@${d}`)) carried.set(`${n}@${d}`, carryInto(n, d));
                  used.set(`${n}@${d}`, (used.get(`${n}@${d}`) ?? 0) + amount);
                  const last = activeDays.get(n);
                  if (last !== undefined && last !== d) expectedResets++;
                  activeDays.set(n, d);
                }
              }
              if (r.allowed && replay) expect(r.spendId).toBe(seenKeys.get(op.key as string));
              for (const n of names) {
                const st = await g.status(n);
                expect([n, micros(st.used), micros(st.limit)]).toEqual([n, used.get(`${n}@${d}`) ?? 0, limitNow(n, d)]);
              }
            }
            expect(events.resets.length).toBe(expectedResets);
          } finally {
            await f.close();
          }
        }),
        { numRuns },
      );
    });
  });
}

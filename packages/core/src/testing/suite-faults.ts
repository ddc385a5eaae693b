// Conformance under store faults (run when the adapter package provides `faults`): whatever the store
// did with calls that threw STORE_UNAVAILABLE — ran them late, ran them and lost the answer — they
// recorded nothing, and retries pay once. Stored used equals the sum of the calls that returned success.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../adapter/spi.js';
import { isSpendGuardError } from '../errors.js';
import { createSpendGuard, type SpendGuard } from '../guard.js';
import { toMicros } from '../money.js';
import { type ConformanceOptions, micros, NOV_2026 } from './harness.js';
import { ManualClock } from './manual-clock.js';

/** Breaks and heals the way to one store. */
export interface FaultInjector {
  /** Requests are held back: they reach the store after the calls gave up on them (a paused server). */
  stall(): void | Promise<void>;
  /** Requests run in the store and their answers are lost (the connection drops after them). */
  dropReplies(): void | Promise<void>;
  /** Back to normal: held requests are delivered (late). Resolves once the store can answer again. */
  heal(): void | Promise<void>;
}

export interface ConformanceFaults {
  /** A fresh, empty store reached through `injector`; its calls should give up quickly (a short timeout). */
  create(): Promise<{ store: StorageAdapter; injector: FaultInjector }>;
  /** fast-check runs (default 5): each fault costs the store's timeout. */
  numRuns?: number;
}

declare module './harness.js' {
  interface ConformanceOptions {
    /** Stores behind a fault injector: enables the fault-injection properties. */
    faults?: ConformanceFaults;
  }
}

type Call = { kind: 'spend'; amount: number; key?: 'k1' | 'k2' } | { kind: 'reserve-commit'; estimate: number; actual: number };

/** A retried request repeats its payload: one idempotency key, one amount. */
const KEYED = { k1: 1.25, k2: 0.5 } as const;

const callArb: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ kind: fc.constant('spend' as const), amount: fc.integer({ min: 1, max: 3_000_000 }).map((n) => n / 1e6) }),
  fc.constantFrom('k1' as const, 'k2' as const).map((key): Call => ({ kind: 'spend', amount: KEYED[key], key })),
  fc
    .record({ estimate: fc.integer({ min: 2, max: 4 }), share: fc.integer({ min: 0, max: 100 }) })
    .map((r): Call => ({ kind: 'reserve-commit', estimate: r.estimate, actual: (r.estimate * r.share) / 100 })),
);

const stepArb = fc.record({
  fault: fc.constantFrom('none' as const, 'stall' as const, 'drop' as const),
  calls: fc.array(callArb, { minLength: 1, maxLength: 3 }),
});

const unavailable = (err: unknown) => isSpendGuardError(err) && err.code === 'STORE_UNAVAILABLE';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `attempt` while the store is unavailable (it is coming back), up to about two seconds. */
async function retried<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!unavailable(err) || i >= 40) throw err;
      await sleep(50);
    }
  }
}

export function faultsSuite(options: ConformanceOptions): void {
  const faults = options.faults;
  if (!faults) return;
  const timeout = options.timeout ?? 120_000;

  describe('under store faults', () => {
    it('a call that threw recorded nothing, and its retry pays once: stored used is the sum of the successes', { timeout }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 4 }), async (steps) => {
          const { store, injector } = await faults.create();
          const guard = createSpendGuard({ store, budgets: [{ id: 'total', limit: 1_000_000 }], clock: new ManualClock(NOV_2026).now });
          let paid = 0; // micro-units the successful calls recorded
          const keysPaid = new Set<string>();
          /** Runs one call; returns false if it threw STORE_UNAVAILABLE (it must then have recorded nothing). */
          const run = async (g: SpendGuard, call: Call, open: Map<Call, string>): Promise<boolean> => {
            try {
              if (call.kind === 'spend') {
                const r = await g.spend({}, call.amount, call.key ? { idempotencyKey: call.key } : undefined);
                expect(r.allowed).toBe(true);
                if (!call.key || !keysPaid.has(call.key)) paid += toMicros(call.amount);
                if (call.key) keysPaid.add(call.key);
                return true;
              }
              let id = open.get(call);
              if (id === undefined) {
                const r = await g.reserve({}, call.estimate);
                if (!r.allowed) throw new Error('refused');
                id = r.reservationId;
                open.set(call, id);
              }
              const c = await g.commit(id, call.actual);
              paid += toMicros(c.actual);
              open.delete(call);
              return true;
            } catch (err) {
              if (unavailable(err)) return false;
              throw err;
            }
          };
          try {
            for (const step of steps) {
              if (step.fault === 'stall') await injector.stall();
              if (step.fault === 'drop') await injector.dropReplies();
              const open = new Map<Call, string>(); // reservations taken whose commit has not succeeded yet
              const ok = await Promise.all(step.calls.map((c) => run(guard, c, open)));
              if (step.fault !== 'none') await injector.heal();
              // The callers retry what threw, without changing anything (the keyed ones with their key).
              for (const [i, call] of step.calls.entries()) {
                for (let tries = 0; !ok[i]; tries++) {
                  if (tries === 40) throw new Error('the store did not come back after heal()');
                  await sleep(50);
                  ok[i] = await run(guard, call, open);
                }
              }
            }
            const status = await retried(() => guard.status('total'));
            expect([micros(status.used), micros(status.reserved)]).toEqual([paid, 0]);
          } finally {
            await injector.heal();
            await retried(() => Promise.resolve(store.close()));
          }
        }),
        { numRuns: faults.numRuns ?? 5 },
      );
    });
  });
}

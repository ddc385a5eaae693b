// The PL/pgSQL batch against the memory adapter (the reference algorithm) on random SPI steps over
// rollover refs, overrides and grants, across periods (later steps go back to earlier periods too) and a
// caller's clock that moves on. Runs of steps go to PostgreSQL in one batch, in order, as a service's
// concurrent calls do; the memory adapter takes them one by one. Every answer, the limits, the history
// and the feed must agree.
import type { InstanceRef, StorageAdapter } from '@spendguard/core/adapter';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { comparable, factsOf, M, month as monthKey, monthRef, NOW, pairOf } from './test-support/spi-pair.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const DAY = 86_400_000;
/** Holds and slices never expire within a run (the two stores expire them on different clocks). */
const TTL = 30 * DAY;
/** Grants and the clock move in quarters of an hour, so that steps often fall on a grant's expiry. */
const QUARTER = 900_000;

/** name → its ref in month k: a rollover with a cap, one with a base from overrides only, a soft one, and one without rollover. */
const INSTANCES: Record<string, (k: number) => InstanceRef> = {
  m: (k) => monthRef('m', k),
  'u:a': (k) => monthRef('u:a', k, { limit: 10 * M, limitKeys: ['u:a', 'u:*'], rollover: { max: 4 * M, previous: prev(k) } }),
  'u:b': (k) => monthRef('u:b', k, { limit: null, limitKeys: ['u:b', 'u:*'], rollover: { max: 50 * M, previous: prev(k) } }),
  s: (k) => monthRef('s', k, { limit: 20 * M, hard: false, rollover: { max: 100 * M, previous: prev(k) } }),
  plain: (k) => monthRef('plain', k, { limit: 30 * M, rollover: null }),
};
const NAMES = Object.keys(INSTANCES);
/** Read by a call that goes alone before each batch's calls, so that they go together. */
const UNRELATED = monthRef('unrelated', 9, { rollover: null });
const LIMIT_KEYS = ['m', 'u:a', 'u:b', 'u:*', 's', 'plain'];
const prev = (k: number): string => monthKey(k - 1);

type Step =
  | { k: 'spend' | 'reserve'; names: string[]; month: number; amount: number; force: boolean }
  | { k: 'commit'; target: number; amount: number }
  | { k: 'release'; target: number }
  | { k: 'read' | 'observe'; names: string[]; month: number }
  | { k: 'lease'; slot: number; name: string; month: number; spent: number; want: number; min: number }
  | { k: 'setLimit'; name: string; limit: number }
  | { k: 'grant'; resend: number | null; name: string; amount: number; ttl: number; stale: boolean }
  | { k: 'tick'; ms: number };

const names = fc.oneof(
  fc.constantFrom(...NAMES).map((n) => [n]),
  fc.subarray(NAMES, { minLength: 1 }),
);
const month = fc.integer({ min: 0, max: 3 });
const amount = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 15 * M }) }, fc.integer({ min: 0, max: 60 * M }));
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constantFrom('spend' as const, 'reserve' as const), names, month, amount, force: fc.boolean() }),
  },
  fc.record({ k: fc.constant('commit' as const), target: fc.nat(), amount }),
  fc.record({ k: fc.constant('release' as const), target: fc.nat() }),
  fc.record({ k: fc.constantFrom('read' as const, 'observe' as const), names, month }),
  fc.record({
    k: fc.constant('lease' as const),
    slot: fc.nat(2),
    name: fc.constantFrom(...NAMES),
    month,
    spent: fc.integer({ min: 0, max: 20 * M }),
    want: fc.integer({ min: 0, max: 40 * M }),
    min: fc.integer({ min: 0, max: 10 * M }),
  }),
  fc.record({ k: fc.constant('setLimit' as const), name: fc.constantFrom(...LIMIT_KEYS), limit: fc.integer({ min: 0, max: 150 * M }) }),
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('grant' as const),
      resend: fc.option(fc.nat(), { nil: null }),
      name: fc.constantFrom(...NAMES),
      amount: fc.integer({ min: 1, max: 50 * M }),
      ttl: fc.integer({ min: 1, max: 16 }).map((q) => q * QUARTER),
      stale: fc.boolean(),
    }),
  },
  fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4 }).map((q) => q * QUARTER) }),
);
/** A run: steps, each with whether it joins the previous one's batch (a tick moves the clock of the calls after it). */
const run = fc.array(fc.tuple(step, fc.boolean()), { minLength: 10, maxLength: 40, size: 'max' });

const BATCHED = new Set(['spend', 'reserve', 'commit', 'release', 'read', 'observe', 'lease', 'tick']);

interface Entry {
  i: number;
  step: Step;
  /** The caller's clock for this step. */
  now: number;
}

describe('postgresAdapter rollover and grants: postgres vs memory on the same steps', () => {
  it('agree', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(run, async (steps) => {
        const pair = await pairOf(schemas);
        let now = NOW;
        const reservations: string[] = [];
        const grants: Array<{ id: string; name: string; expiresAt: number }> = [];
        const slices: Array<{ ref: InstanceRef; spent: number } | undefined> = [];
        const log: Array<{ i: number; step: Step; mem: unknown; pg: unknown }> = [];

        /** The SPI call of step i on one store, made with what is known before its batch. */
        function call({ i, step: s, now }: Entry, store: StorageAdapter, version: number): Promise<unknown> | unknown {
          switch (s.k) {
            case 'spend':
            case 'reserve':
              return store.charge({
                kind: s.k,
                callId: `c${i}`,
                instances: s.names.map((n) => (INSTANCES[n] as (k: number) => InstanceRef)(s.month)),
                amount: s.amount,
                now,
                ttlMs: TTL,
                force: s.force,
              });
            case 'commit':
            case 'release': {
              const id = reservations[s.target % reservations.length] as string;
              return store.settle(
                s.k === 'commit'
                  ? { action: 'commit', reservationId: id, amount: s.amount, spendId: `sp${i}`, now }
                  : { action: 'release', reservationId: id, now },
              );
            }
            case 'read':
            case 'observe': {
              const refs = s.names.map((n) => (INSTANCES[n] as (k: number) => InstanceRef)(s.month));
              return s.k === 'read' ? store.read(refs, now) : store.observe(refs, now);
            }
            case 'lease': {
              const slice = slices[s.slot] as { ref: InstanceRef; spent: number };
              return store.lease?.({
                items: [{ id: `slice${s.slot}`, ref: slice.ref, spent: slice.spent, want: s.want, min: s.min }],
                now,
                expireMs: TTL,
              });
            }
            case 'setLimit':
              return store.setLimit({ name: s.name, limit: s.limit, expectedVersion: version - (s.limit % 5 === 0 ? 1 : 0), now });
            case 'grant': {
              const g = grants[grants.length - 1] as (typeof grants)[number];
              return store.grant?.({
                grant: { id: g.id, name: g.name, amount: s.amount, expiresAt: g.expiresAt, grantedAt: now },
                expectedVersion: s.stale ? version - 1 : version,
                now,
              });
            }
            default:
              return undefined;
          }
        }

        for (let i = 0; i < steps.length; ) {
          // A batch: this step and the ones after it that join it (steps the batch function runs only).
          let end = i + 1;
          const first = (steps[i] as [Step, boolean])[0];
          if (BATCHED.has(first.k)) {
            while (end < steps.length && (steps[end] as [Step, boolean])[1] && BATCHED.has((steps[end] as [Step, boolean])[0].k)) end++;
          }
          const batch: Entry[] = [];
          for (let j = i; j < end; j++) {
            const s = (steps[j] as [Step, boolean])[0];
            // What a step refers to is settled before the batch goes, as a caller knows it.
            if (s.k === 'tick') {
              now += s.ms;
              continue;
            }
            if ((s.k === 'commit' || s.k === 'release') && reservations.length === 0) continue;
            if (s.k === 'lease') {
              const held = slices[s.slot];
              slices[s.slot] = held
                ? { ref: held.ref, spent: held.spent + s.spent }
                : { ref: (INSTANCES[s.name] as (k: number) => InstanceRef)(s.month), spent: s.spent };
            }
            if (s.k === 'grant') {
              // A resend of a grant that still counts (an expired one may be forgotten by one store and not yet the other).
              const live = grants.filter((g) => g.expiresAt > now);
              const again = s.resend === null || live.length === 0 ? undefined : live[s.resend % live.length];
              grants.push(again ?? { id: `g${i}-${j}`, name: s.name, expiresAt: now + s.ttl });
            }
            batch.push({ i: j, step: s, now });
            if (s.k === 'reserve') reservations.push(`c${j}`);
          }
          if (batch.length > 0) {
            const memVersion = (await pair.mem.limits()).version;
            const pgVersion = (await pair.pg.limits()).version;
            expect(pgVersion).toBe(memVersion);
            const mem: unknown[] = [];
            for (const b of batch) mem.push(await call(b, pair.mem, memVersion));
            // One unrelated call goes first and alone, so that the batch's own calls go together, in order.
            const alone = (batch[0] as Entry).step.k === 'setLimit' || (batch[0] as Entry).step.k === 'grant';
            const pg = alone
              ? [await call(batch[0] as Entry, pair.pg, pgVersion)]
              : (
                  await Promise.all([pair.pg.read([UNRELATED], (batch[0] as Entry).now), ...batch.map((b) => call(b, pair.pg, pgVersion))])
                ).slice(1);
            batch.forEach((b, n) => {
              log.push({ i: b.i, step: b.step, mem: comparable(mem[n]), pg: comparable(pg[n]) });
            });
          }
          i = end;
        }
        for (const entry of log)
          expect({ i: entry.i, step: entry.step, out: entry.pg }).toEqual({ i: entry.i, step: entry.step, out: entry.mem });

        const limitsOf = async (store: StorageAdapter) => {
          const l = await store.limits();
          return { ...l, grants: l.grants.filter((g) => g.expiresAt > now).sort((a, b) => (a.id < b.id ? -1 : 1)) };
        };
        expect(await limitsOf(pair.pg)).toEqual(await limitsOf(pair.mem));
        for (const name of NAMES) {
          const request = { instance: name, periods: [0, 1, 2, 3].map((k) => monthRef(name, k).period) };
          expect(await pair.pg.history(request)).toEqual(await pair.mem.history(request));
        }
        const feedOf = async (store: StorageAdapter) => factsOf((await store.feed?.({ limit: 10_000 })) ?? []);
        expect(await feedOf(pair.pg)).toEqual(await feedOf(pair.mem));
        await pair.pg.close();
      }),
      { numRuns: Number(process.env.RUNS ?? 40) },
    );
  });
});

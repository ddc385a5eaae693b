// Test support: one memory adapter (the reference algorithm) and one PostgreSQL adapter, driven through
// the SPI with the same requests, and month refs to drive them with. What differs by design is left out
// of the comparison: the PostgreSQL adapter expires holds and stamps facts on the server's clock.
import { memoryAdapter } from '@spendguard/adapter-memory';
import type { FeedFact, InstanceRef, MaybePromise, StorageAdapter } from '@spendguard/core/adapter';
import { expect } from 'vitest';
import type { SchemaPool } from './test-postgres.js';

export interface Pair {
  mem: StorageAdapter;
  pg: StorageAdapter;
}

export async function pairOf(schemas: SchemaPool): Promise<Pair> {
  const pair = { mem: memoryAdapter(), pg: await schemas.adapter() };
  for (const store of [pair.mem, pair.pg]) store.configure({ retentionMs: 86_400_000 });
  return pair;
}

/** Runs `step` on the memory store, then on PostgreSQL; expects the same answer and returns it. */
export async function same<T>(pair: Pair, step: (store: StorageAdapter) => MaybePromise<T>): Promise<T> {
  const mem = comparable(await step(pair.mem));
  const pg = comparable(await step(pair.pg));
  expect(pg).toEqual(mem);
  return mem as T;
}

/** A reservation's expiry and a fact's id and time come from each store's own clock and counter. */
export function comparable<T>(value: T): T {
  if (Array.isArray(value)) return value.map(comparable) as T;
  if (value === null || typeof value !== 'object' || value instanceof Map) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'expiresAt' && 'callId' in value) continue; // a reserve's outcome; a grant's expiresAt stays
    out[k] = comparable(v);
  }
  return out as T;
}

/** Feed facts without their ids and times. */
export function factsOf(facts: FeedFact[]): Array<Omit<FeedFact, 'id' | 'at'>> {
  return facts.map(({ id, at, ...rest }) => {
    void id;
    void at;
    return rest;
  });
}

export const M = 1_000_000;

/** The month key `offset` months from 2026-11. */
export function month(offset: number): string {
  const d = new Date(Date.UTC(2026, 10 + offset, 1));
  return d.toISOString().slice(0, 7);
}

export const monthEnd = (key: string): number => {
  const [y, m] = key.split('-').map(Number) as [number, number];
  return Date.UTC(y, m, 1);
};

/** What a test may set of a month ref; `rollover: null` for none. */
export type RefOptions = Omit<Partial<InstanceRef>, 'rollover'> & { rollover?: InstanceRef['rollover'] | null };

/** An instance's ref in month `offset` (2026-11 is 0), with rollover (max 30) from the month before unless `rollover: null`. */
export function monthRef(name: string, offset: number, options: RefOptions = {}): InstanceRef {
  const { rollover = { max: 30 * M, previous: month(offset - 1) }, ...rest } = options;
  const period = month(offset);
  const ref: InstanceRef = {
    name,
    rule: name.split(':')[0] as string,
    period,
    day: `${period}-10`,
    periodEnd: monthEnd(period),
    limit: 100 * M,
    limitKeys: [name],
    hard: true,
    marks: { fractions: [0.5, 0.9, 1], amounts: [] },
    ...rest,
  };
  return rollover === null ? ref : { ...ref, rollover };
}

/**
 * The callers' clock in these tests: a month behind the server's, so that a grant whose expiry the server's
 * clock has passed may still count (grants count by the caller's clock; holds expire by the server's).
 */
export const NOW = Date.now() - 30 * 86_400_000;

// A million distinct keys over simulated days leave the memory adapter bounded, in records and in heap.
// Driven through the SPI (a guard would take minutes for a million calls); refs are built by hand.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { InstanceRef } from '@spendguard/core/adapter';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from './memory-adapter.js';
import type { MemoryStats } from './memory-records.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-11-01T00:00:00Z');
const KEYS = 1_000_000;
const DAYS = 20;
const PER_DAY = KEYS / DAYS;

/** Heap numbers are honest only after a full collection; vitest workers do not run with --expose-gc. */
function collector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const dayKeys = new Map<number, string>();

function dayRef(user: string, now: number): InstanceRef {
  const start = now - (now % DAY);
  let key = dayKeys.get(start);
  if (key === undefined) {
    key = new Date(start).toISOString().slice(0, 10);
    dayKeys.set(start, key);
  }
  return { name: `user:${user}`, rule: 'user', period: key, day: key, periodEnd: start + DAY, limit: 10e6, limitKeys: [], hard: true };
}

const total = (s: MemoryStats) => s.instances + s.totals + s.listed + s.reservations + s.idempotencyKeys + s.queued;

describe('memoryAdapter growth', () => {
  it(`${KEYS} distinct keys over ${DAYS} simulated days keep records and heap bounded`, { timeout: 120_000 }, async () => {
    const store = memoryAdapter({ historyRetentionMs: DAY });
    store.configure({ retentionMs: HOUR, eventRetentionMs: HOUR });
    const gc = collector();
    const heap = () => {
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    const one = async (k: number, now: number) => {
      const user = `u${k}`;
      const instances = [dayRef(user, now)];
      const kind = k % 8;
      if (kind <= 2) {
        const r = await store.charge({ kind: 'reserve', callId: `r${k}`, instances, amount: 2e6, now, ttlMs: 10 * 60_000 });
        if (!r.ok) throw new Error(`reserve ${k} refused`);
        if (kind === 1) await store.settle({ action: 'commit', reservationId: `r${k}`, amount: 1e6, spendId: `s${k}`, now });
        if (kind === 2) await store.settle({ action: 'release', reservationId: `r${k}`, now });
        return;
      }
      const key = kind <= 4 ? { idempotencyKey: `key-${k}` } : {};
      const r = await store.charge({ kind: 'spend', callId: `c${k}`, instances, amount: 1e6, now, ...key });
      if (!r.ok) throw new Error(`spend ${k} refused`);
    };

    const records: number[] = [];
    let settled = 0;
    let k = 0;
    for (let day = 0; day < DAYS; day++) {
      for (let i = 0; i < PER_DAY; i++, k++) await one(k, START + day * DAY + Math.floor((i * DAY) / PER_DAY));
      records.push(total(store.stats()));
      if (day === 2) settled = heap();
    }
    const last = heap();
    // Today's and yesterday's keys are kept (a day of history), an hour of idempotency keys and reservations.
    expect(Math.max(...records.slice(1))).toBeLessThanOrEqual(8 * 2 * PER_DAY);
    expect(records.at(-1)).toBeLessThanOrEqual(Math.ceil(1.25 * (records[2] as number)));
    // Keeping every key would add hundreds of bytes per key: ~400 MB here.
    if (gc) expect((last - settled) / 1e6).toBeLessThan(40);

    // Past every retention, a quiet hour of a thousand keys: what the days left is gone.
    const end = START + (DAYS + 3) * DAY;
    for (let q = 0; q < 1000; q++) await one(8 * (KEYS + q) + 7, end + q * 3600);
    expect(store.stats()).toMatchObject({ instances: 1000, totals: 1000, listed: 1000, reservations: 0, idempotencyKeys: 0 });
    expect(total(store.stats())).toBeLessThanOrEqual(8 * 1000);
    expect((await store.instances({ rule: 'user', limit: 2000 })).names.length).toBe(1000);
  });
});

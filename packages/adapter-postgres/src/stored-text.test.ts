// Strings the core accepts (well-formed Unicode, U+0000 included) in idempotency keys and reservation ids,
// which PostgreSQL's jsonb and text cannot hold as they are: stored escaped (stored-text.ts), they behave as
// on the memory adapter, and one never fails the calls batched with it. (Instance names never hold U+0000:
// the core writes it as %00.)

import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());
const budgets = [{ id: 'monthly', limit: 100 }];

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
}

describe('postgresAdapter: NUL in caller-supplied ids', () => {
  it('an idempotency key with NUL behaves as on the memory adapter', async () => {
    const mem = createSpendGuard({ store: memoryAdapter(), budgets });
    const pg = createSpendGuard({ store: await schemas.adapter(), budgets });
    const key = 'order\u0000 42';
    expect(await outcome(mem.spend({}, 1, { idempotencyKey: key }))).toBe('ok');
    expect(await outcome(pg.spend({}, 1, { idempotencyKey: key }))).toBe('ok');
  });

  it('a commit of a reservation id with NUL (caller input) answers UNKNOWN_RESERVATION, as on memory', async () => {
    const mem = createSpendGuard({ store: memoryAdapter(), budgets });
    const pg = createSpendGuard({ store: await schemas.adapter(), budgets });
    expect(await outcome(mem.commit('r\u0000', 1))).toBe('UNKNOWN_RESERVATION');
    expect(await outcome(pg.commit('r\u0000', 1))).toBe('UNKNOWN_RESERVATION');
  });

  it('one bad call does not fail the innocent calls batched with it', async () => {
    const pg = createSpendGuard({ store: await schemas.adapter(), budgets });
    await pg.spend({}, 0.5); // migrated, warm
    // Fill a batch: one call in flight, then many that go together as the next batch.
    const first = pg.spend({}, 0.001);
    const innocent = Array.from({ length: 20 }, () => pg.spend({}, 0.001));
    const bad = pg.release('evil\u0000id');
    const more = Array.from({ length: 20 }, () => pg.spend({}, 0.001));
    const results = await Promise.all([first, ...innocent, ...more].map(outcome));
    await outcome(bad);
    const failed = results.filter((r) => r !== 'ok');
    expect(failed).toEqual([]);
  });

  it('a lone-surrogate-free but unusual attribute value (U+FFFF, emoji, 2k chars) spends', async () => {
    const b = [{ id: 'u', per: 'user', limit: { '*': 100 } }];
    const pg = createSpendGuard({ store: await schemas.adapter(), budgets: b });
    for (const user of ['\uffff', '😀', 'o\'; DROP--"', 'x'.repeat(256), '\u0000\u0001']) {
      expect((await pg.spend({ user }, 1)).allowed).toBe(true);
      expect(
        (
          await pg.status(
            `u:${user.replace(/[\u0000-\u001f%,:*{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}`,
          )
        ).used,
      ).toBe(1);
    }
  });
});

describe('postgresAdapter: NUL reservation id with onStoreError allow', () => {
  it('a release of "rs_\\u0000" does not wedge the offline journal', { timeout: 30_000 }, async () => {
    const g = createSpendGuard({
      store: await schemas.adapter(),
      budgets,
      onStoreError: 'allow',
      offlineAllowance: 10,
      replayIntervalMs: 50,
    });
    await g.spend({}, 1);
    const r = await outcome(g.release('rs_\u0000'));
    // Memory answers UNKNOWN_RESERVATION; here the store "failed", so the release went to the journal.
    const m = createSpendGuard({ store: memoryAdapter(), budgets, onStoreError: 'allow', offlineAllowance: 10 });
    expect.soft({ pg: r }).toEqual({ pg: await outcome(m.release('rs_\u0000')) });
    // Meanwhile a real outage journals a spend behind it... the store is up: the replay should drain.
    await new Promise((res) => setTimeout(res, 500));
    expect((await g.spend({}, 2)).allowed).toBe(true);
    await new Promise((res) => setTimeout(res, 500));
    const closed = await g.close().then(
      () => 'closed',
      (err: { unflushed?: unknown[]; message: string }) => `unflushed ${JSON.stringify(err.unflushed)}`,
    );
    expect(closed).toBe('closed');
  });
});

describe('stored text', () => {
  it('round-trips any string, and leaves strings without U+0000 or U+0001 as they are', async () => {
    const { toStored, fromStored } = await import('./stored-text.js');
    for (const s of ['', 'plain', '\u0000', '\u0001', '\u0001\u0002', 'a\u0000\u0001b\u0002', '\u0000\u0000', '😀\u0000']) {
      expect(toStored(s)).not.toContain('\u0000');
      expect(fromStored(toStored(s))).toBe(s);
    }
    expect(toStored('user:a%00b')).toBe('user:a%00b');
    expect(new Set(['\u0000', '\u0001\u0002', '\u0001\u0001\u0002'].map(toStored)).size).toBe(3);
  });
});

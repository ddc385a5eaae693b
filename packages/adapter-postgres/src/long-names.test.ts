// Instance names the core accepts (attribute values up to 256 characters, several per rule) that are
// longer than a btree index entry may be (about 2.7 kB): such a call is refused alone, before its batch.

import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

function randomCjk(n: number, seed: number): string {
  let s = '';
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(0x4e00 + (x % 20000));
  }
  return s;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
}

describe('postgresAdapter: long instance names', () => {
  it('a name longer than the store keys hold is refused alone (INVALID_ATTRIBUTES), never failing its batch', async () => {
    const budgets = [
      { id: 'monthly', limit: 100 },
      { id: 'quad', per: ['a', 'b', 'c', 'd'], limit: { '*': 100 } },
    ];
    const attrs = { a: randomCjk(256, 1), b: randomCjk(256, 2), c: randomCjk(256, 3), d: randomCjk(256, 4) };
    const mem = createSpendGuard({ store: memoryAdapter(), budgets });
    const pg = createSpendGuard({ store: await schemas.adapter(), budgets });
    expect(await code(mem.spend(attrs, 1))).toBe('ok');
    await pg.spend({ a: 'x', b: 'y', c: 'z', d: 'w' }, 0);
    const innocent = pg.spend({ a: 'x', b: 'y', c: 'z', d: 'w' }, 1);
    const innocent2 = pg.spend({ a: 'x', b: 'y', c: 'z', d: 'w' }, 1);
    const long = pg.spend(attrs, 1);
    expect({ long: await code(long), innocent: await code(innocent2) }).toEqual({ long: 'INVALID_ATTRIBUTES', innocent: 'ok' });
    await innocent;
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleListing } from './rule-listing.js';

/** Pages through `listing`, running `between` after each page; returns every name seen, in order. */
function pageAll(listing: RuleListing, limit: number, between: () => void = () => {}): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = listing.page(cursor, limit);
    expect(page.names.length).toBeLessThanOrEqual(limit);
    seen.push(...page.names);
    cursor = page.cursor;
    between();
    if (++pages > 100_000) throw new Error('paging does not end');
  } while (cursor !== undefined);
  return seen;
}

describe('RuleListing', () => {
  it('a cursor stays valid while names are removed and the listing is compacted', () => {
    const listing = new RuleListing();
    for (let i = 0; i < 5000; i++) listing.add(`n${i}`);
    let next = 0;
    // Between pages, the 3000 oldest names go (compacting the listing more than once).
    const seen = pageAll(listing, 500, () => {
      for (let i = 0; i < 1000 && next < 3000; i++) listing.remove(`n${next++}`);
    });
    const kept = Array.from({ length: 2000 }, (_, i) => `n${3000 + i}`);
    expect(kept.filter((n) => !seen.includes(n))).toEqual([]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a page steps over a bounded number of holes, then hands back a cursor', () => {
    const listing = new RuleListing();
    for (let i = 0; i < 1000; i++) listing.add(`n${i}`);
    for (let i = 0; i < 999; i++) listing.remove(`n${i}`); // 999 holes: under the compaction threshold
    const first = listing.page(undefined, 10);
    expect(first.names).toEqual([]);
    expect(first.cursor).toBeDefined();
    expect(pageAll(listing, 10)).toEqual(['n999']);
  });

  it('pages list every name present throughout exactly once, whatever is added or removed meanwhile (property)', () => {
    const op = fc.oneof(fc.record({ add: fc.nat(300) }), fc.record({ remove: fc.nat(300) }));
    fc.assert(
      fc.property(
        fc.array(fc.nat(300), { maxLength: 300 }),
        fc.array(fc.array(op, { maxLength: 400 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 50 }),
        (initial, batches, limit) => {
          const listing = new RuleListing();
          const present = new Set<string>();
          for (const i of initial) {
            listing.add(`n${i}`);
            present.add(`n${i}`);
          }
          const touched = new Set<string>();
          let batch = 0;
          const seen = pageAll(listing, limit, () => {
            for (const o of batches[batch++] ?? []) {
              const name = `n${'add' in o ? o.add : o.remove}`;
              touched.add(name);
              if ('add' in o) listing.add(name);
              else listing.remove(name);
            }
          });
          expect(new Set(seen).size).toBe(seen.length);
          for (const name of present) if (!touched.has(name)) expect(seen).toContain(name);
        },
      ),
    );
  });
});

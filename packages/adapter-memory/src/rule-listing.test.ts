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
    const seqs = Array.from({ length: 5000 }, (_, i) => listing.add(`n${i}`));
    let next = 0;
    // Between pages, the 3000 oldest names go (compacting the listing more than once).
    const seen = pageAll(listing, 500, () => {
      for (let i = 0; i < 1000 && next < 3000; i++) listing.remove(seqs[next++] as number);
    });
    const kept = Array.from({ length: 2000 }, (_, i) => `n${3000 + i}`);
    expect(kept.filter((n) => !seen.includes(n))).toEqual([]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a page steps over a bounded number of holes, then hands back a cursor', () => {
    const listing = new RuleListing();
    const seqs = Array.from({ length: 1000 }, (_, i) => listing.add(`n${i}`));
    for (let i = 0; i < 999; i++) listing.remove(seqs[i] as number); // 999 holes: under the compaction threshold
    const first = listing.page(undefined, 10);
    expect(first.names).toEqual([]);
    expect(first.cursor).toBeDefined();
    expect(pageAll(listing, 10)).toEqual(['n999']);
  });

  it('pages list every name present throughout exactly once, whatever else is added or removed meanwhile (property)', () => {
    const op = fc.oneof(fc.record({ add: fc.nat(300) }), fc.record({ remove: fc.nat(300) }));
    fc.assert(
      fc.property(
        fc.array(fc.nat(300), { maxLength: 300 }),
        fc.array(fc.array(op, { maxLength: 400 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 50 }),
        (initial, batches, limit) => {
          const listing = new RuleListing();
          const listed = new Map<string, number>(); // name → sequence number, as the memory records keep it
          const add = (name: string) => {
            if (!listed.has(name)) listed.set(name, listing.add(name));
          };
          const present = new Set<string>();
          for (const i of initial) {
            add(`n${i}`);
            present.add(`n${i}`);
          }
          const touched = new Set<string>();
          let batch = 0;
          const seen = pageAll(listing, limit, () => {
            for (const o of batches[batch++] ?? []) {
              const name = `n${'add' in o ? o.add : o.remove}`;
              touched.add(name);
              const seq = listed.get(name);
              if ('add' in o) add(name);
              else if (seq !== undefined) {
                listing.remove(seq);
                listed.delete(name);
              }
            }
          });
          // A name removed and added again meanwhile is listed anew and may be seen twice; the others once.
          for (const name of present) {
            if (!touched.has(name)) expect([name, seen.filter((n) => n === name).length]).toEqual([name, 1]);
          }
        },
      ),
    );
  });
});

// A refused call records nothing, so it reports no level change. The steps that change a level report
// it (a spend, a commit, the observe after setLimit or grant), all but one: a grant that ends is made by
// time alone, and when it leaves `used` near or past the lowered limit, every later call may be refused
// and nothing would ever report the level it moved to. So a refusal at a limit this guard has not seen
// the instance at observes the call's instances once; the store reports a change its levels have not
// been derived from yet exactly once, whichever guard observes first.
import type { InstanceRef, InstanceTotals, StorageAdapter } from './adapter/spi.js';

/** Forgotten wholesale past this many instances: at worst one more observe each. */
const MAX_REMEMBERED = 10_000;

export class RefusedLevels {
  /** The limit this guard last saw each refused instance-period at. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly store: StorageAdapter,
    private readonly observed: (refs: readonly InstanceRef[], totals: ReadonlyArray<InstanceTotals | null>, now: number) => void,
  ) {}

  /** After a refusal with these totals: observes the instances if one stands at a limit not seen before. */
  async after(refs: readonly InstanceRef[], totals: ReadonlyArray<InstanceTotals | null>, now: number): Promise<void> {
    if (!refs.some((ref, i) => this.stale(ref, totals[i]))) return;
    let after: Array<InstanceTotals | null>;
    try {
      after = await this.store.observe(refs, now);
    } catch {
      return; // best effort: the next refusal asks again
    }
    if (this.seen.size > MAX_REMEMBERED) this.seen.clear();
    refs.forEach((ref, i) => {
      const t = after[i];
      if (t) this.seen.set(keyOf(ref), t.limit);
    });
    this.observed(refs, after, now);
  }

  private stale(ref: InstanceRef, t: InstanceTotals | null | undefined): boolean {
    return t != null && this.seen.get(keyOf(ref)) !== t.limit;
  }
}

const keyOf = (ref: InstanceRef): string => `${ref.name}\u0000${ref.period}`;

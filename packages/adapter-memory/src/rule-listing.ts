// One rule's instance names in listing order, paged by cursors that stay valid while names come and go.

/** Holes one page may step over at most per name it may return: a page's work stays bounded. */
const SCAN_PER_NAME = 4;
/** Holes tolerated before compaction is considered at all. */
const MIN_HOLES = 1024;

/** The names are held here; which name has which sequence number, the caller keeps (one Map fewer). */
export class RuleListing {
  /** Names in listing order; a removed name leaves a hole until the arrays are compacted. */
  private names: Array<string | undefined> = [];
  /** The sequence number each slot was given, increasing: a cursor is one, so compaction cannot shift it. */
  private seqs: number[] = [];
  private holes = 0;
  private nextSeq = 0;

  get size(): number {
    return this.names.length - this.holes;
  }

  /** Lists `name` at the end; returns its sequence number, which `remove` takes. */
  add(name: string): number {
    const seq = this.nextSeq++;
    this.names.push(name);
    this.seqs.push(seq);
    return seq;
  }

  remove(seq: number): void {
    const at = this.firstAtOrAfter(seq);
    if (this.seqs[at] !== seq || this.names[at] === undefined) return;
    this.names[at] = undefined;
    this.holes++;
    if (this.holes > MIN_HOLES && this.holes * 2 > this.names.length) this.compact();
  }
  /** Up to `limit` names after `cursor`, stepping over at most SCAN_PER_NAME × limit slots. */
  page(cursor: string | undefined, limit: number): { names: string[]; cursor?: string } {
    const { names: slots, seqs } = this;
    const out: string[] = [];
    let i = cursor === undefined ? 0 : this.firstAtOrAfter(Number(cursor) + 1);
    const end = Math.min(slots.length, i + SCAN_PER_NAME * Math.max(1, limit));
    for (; i < end && out.length < limit; i++) {
      const name = slots[i];
      if (name !== undefined) out.push(name);
    }
    return i < slots.length ? { names: out, cursor: String(seqs[i - 1] ?? -1) } : { names: out };
  }

  /** The first slot whose sequence number is ≥ `seq` (binary search: the numbers increase). */
  private firstAtOrAfter(seq: number): number {
    const { seqs } = this;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((seqs[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const names: string[] = [];
    const seqs: number[] = [];
    this.names.forEach((name, i) => {
      if (name === undefined) return;
      names.push(name);
      seqs.push(this.seqs[i] as number);
    });
    this.names = names;
    this.seqs = seqs;
    this.holes = 0;
  }
}
